#ifndef CXML2_SHIM_H
#define CXML2_SHIM_H
#include <libxml/xmlversion.h>
/* Debian builds libxml2 with ICU; the ICU headers clash with Foundation's own ICU copy (_FoundationICU) in a
   module that imports both. The parser API does not need them. */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>
#endif

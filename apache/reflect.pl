#!/usr/bin/perl -wT
# The provisioning guide's reflector CGI (FACTS.md §1), corrected: the phone's product, serial and MAC are in
# the certificate's subject (OU, L, ST), which mod_ssl exports as SSL_CLIENT_S_DN_OU/_L/_ST; the guide read the
# issuer (SSL_CLIENT_I_DN_*) and the surname (_S). An unset variable prints as empty instead of a warning.
# Needs `SSLOptions +StdEnvVars` and `SSLVerifyClient require` on its location, like the profiles.
use strict;
print "Content-Type: text/plain\n\n";
print "<flat-profile><GPP_D>";
print "OU=" . ($ENV{'SSL_CLIENT_S_DN_OU'} // '') . ",\n";
print "L=" . ($ENV{'SSL_CLIENT_S_DN_L'} // '') . ",\n";
print "S=" . ($ENV{'SSL_CLIENT_S_DN_ST'} // '') . "\n";
print "</GPP_D></flat-profile>";

import Foundation
@testable import Provisioning
@testable import ProvisioningAdmin
import Testing

/// One definition of a secret (`Secrets.isSecret`), kept honest against the parameter catalogue: every name in
/// the catalogue that looks like it holds a password, key, PSK, PIN, community, activation code, licence,
/// private key or credential is classified secret by the rules, or is listed below as reviewed and not secret
/// (with the reason). A name someone adds to the catalogue (a new family, another firmware's export) is thus
/// either caught by the rules or fails this test until a person decides.
@Suite("One definition of a secret")
struct CatalogueSecretsTests {
    /// Words that suggest a secret, chosen independently of the classifier's rules (a second opinion, not a copy).
    static let suspicious = ["pass", "pwd", "psk", "pin", "key", "secret", "communit", "activation", "licen", "private",
                             "token", "credential", "wep", "wpa", "cert", "ikm", "gpp_s", "auth", "code"]

    /// Catalogue names that match a suspicious word but hold no secret, each with the reason (reviewed by hand
    /// against the guides). Patterns: a name is matched after `#` became `1`.
    static let reviewedNotSecret: [(String, String)] = [
        ("_Key_List", "softkey layout lists (Idle_Key_List: a list of softkey names)"),
        ("Line_Key", "line key buttons and their labels"),
        ("Unit_1_Key", "sidecar key buttons"),
        ("Key_Navigation", "a UI setting"), ("Key_System", "the Linksys key system feature"),
        ("Conference_Single_Hardkey", "a button"), ("Enable_Conference_Key", "a switch"),
        ("Softkey", "softkey switches"), ("Feature_Key_Sync", "a switch"),
        ("BLF_Callpark_On_Line_Key", "a switch"), ("Use_Line_Keys", "a switch"),
        ("ParameterKey", "TR-069's ParameterKey: a change marker, public by the standard"),
        ("wepKeyId", "which WEP key is used (an index)"), ("wepKeyLen", "a key length"),
        ("NTP_Auth_Key_ID", "the key's number, not the key"),
        ("_Code", "star codes (*69 ...) and codec names: dialled or negotiated in the clear"),
        ("Codec", "codec names and switches"), ("Decoder", "codec"), ("Encoder", "codec"),
        ("Auth_ID", "the SIP authentication user name (an identity, sent in every REGISTER)"),
        ("Auth_INVITE", "a switch"), ("Auth_Page", "a switch or realm; Auth_Page_Password is caught by the rules"),
        ("Auth_Register", "a switch"), ("Auth_Resync", "a switch"), ("Auth_Support", "a switch"),
        ("Auth_Type", "a method name"), ("Authentication_Type", "a method name"), ("Auth_Method", "a method name"),
        ("Auth_Mode", "a method name"), ("Auth_Proto", "a method name"), ("Auth_Protocol", "a method name"),
        ("ttlsAuthProto", "a method name"), ("Authentication_Identity", "a user name"),
        ("Device_Authentication", "a switch"), ("Enable_802.1X_Authentication", "a switch"), ("Enable_NTP_Auth", "a switch"),
        ("Network_Authentication_Mode", "a method name"), ("HTTP_Digest_Authentication", "a switch"),
        ("Rule_Authentication", "a switch"), ("Requires_Authentication", "a switch"), ("Max_Auth", "a count"),
        ("Reversed_Auth_Realm", "a realm name"), ("Use_Auth_ID", "a switch"),
        ("Display_Password_Warnings", "a switch (classified secret all the same: harmless)"),
        ("MIC_Cert_Refresh", "a switch or rule"), ("serverCert", "a server's certificate: public"),
        ("Custom_CA", "a CA certificate's URL or rule: public"), ("Mini_Certificate", "a public certificate"),
        ("Passthru", "a fax method"), ("Passthrough", "a VPN pass-through switch"),
        ("Use_Auto_Discovery__WPAD_", "WPAD, a proxy discovery switch"), ("Prompt_For_Empty_Credentials", "a switch"),
        ("Private_IP", "a DMZ address"), ("Mapping", "number and NAT mapping rules (`pin` inside `Mapping`)"),
        ("Starcode", "a switch"), ("Bypass", "a switch"), ("Re-Key", "an SRTP re-keying switch"),
        ("Auth_Server", "the SPA adapters' RADIUS/802.1X server address (issue 20's real ATA profiles): a host name"),
        ("Decode_Latency", "a codec timing setting of SPA phones (issue 20's real profiles)"),
    ]

    static func reviewed(_ name: String) -> Bool {
        reviewedNotSecret.contains { name.range(of: $0.0, options: .caseInsensitive) != nil }
    }

    @Test func everySecretLookingCatalogueNameIsClassified() {
        var unclassified: [String] = []
        for pattern in ParameterCatalogue.patterns {
            let name = pattern.replacingOccurrences(of: "#", with: "1")
            let lower = name.lowercased()
            guard Self.suspicious.contains(where: { lower.contains($0) }), !Secrets.isSecret(name), !Self.reviewed(name) else { continue }
            unclassified.append(pattern)
        }
        #expect(unclassified.isEmpty, "secret-looking catalogue names the rules leave out (classify or review): \(unclassified)")
    }

    /// The names the hostile review found leaking to bootstrap callers and provctl's outputs.
    @Test func theLeakedNamesAreSecret() {
        let names = ["PSK_1", "pskKey_1_", "Wi-Fi_Password_1_", "wepKey0_1_", "wepKey3_2_", "SRTP_Private_Key_1_",
                     "router-configuration/SNMP/Get_Community", "router-configuration/SNMP/Set_Community",
                     "Activation_Code", "PIN_Code", "License_Keys", "Licenses", "NTP_Auth_Key", "GPP_SA", "GPP_SD",
                     "IKM_HTTP_Encrypt_Content", "Admin_Password", "User_Passwd", "802.1X_Authentication_Password",
                     "router-configuration/SNMP/Privacy_Password", "Client_Certificate", "clientCert_1_",
                     "Voice_Mail_PIN", "XSI_Token", "API_Key", "Pre_Shared_Key_1_"]
        for name in names {
            #expect(Secrets.isSecret(name), "\(name)")
            #expect(Secrets.mask(name: name, value: "s3cr3t") == Secrets.mask, "\(name) masked")
        }
        for name in ["Line_Key_1_", "Idle_Key_List", "Call_Park_Code", "Auth_ID_1_", "wepKeyId_1_", "Profile_Rule",
                     "Resync_Periodic", "Unit_1_Key_2_", "ParameterKey", "G711u_Codec_Name", "Display_Name_1_", "Pickup_1_"] {
            #expect(!Secrets.isSecret(name), "\(name) is not a secret")
        }
        // Every catalogue name the rules call secret is masked whole.
        for pattern in ParameterCatalogue.patterns {
            let name = pattern.replacingOccurrences(of: "#", with: "1")
            if Secrets.isSecret(name) { #expect(Secrets.mask(name: name, value: "v") == Secrets.mask) }
        }
    }

    /// A credential inside a URL (RFC 3986 §3.2.1 user info) is a secret wherever the URL stands.
    @Test func urlUserInfo() {
        #expect(Secrets.mask(name: "Profile_Rule", value: "https://prov:hunter2@p.example.com/$MA.xml")
                == "https://prov:***@p.example.com/$MA.xml")
        #expect(Secrets.mask(name: "Profile_Rule", value: "[--key k1] http://u:p@h/a.cfg | tftp://h/b")
                == "[--key ***] http://u:***@h/a.cfg | tftp://h/b")
        #expect(Secrets.removingRuleSecrets("https://prov:hunter2@p.example.com/$MA.xml") == "https://p.example.com/$MA.xml")
        #expect(Secrets.removingRuleSecrets("[--uid u --pwd p] https://x:y@h/$MA.xml") == "[--uid u] https://h/$MA.xml")
        #expect(Secrets.mask(name: "Syslog_Server", value: "https://h/a@b") == "https://h/a@b", "an @ in the path is no user info")
        #expect(Secrets.mask(name: "Logo_URL", value: "http://h/logo.bmp") == "http://h/logo.bmp")
    }
}

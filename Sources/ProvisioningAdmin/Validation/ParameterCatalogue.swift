public import Provisioning
/// The MPP parameter names the Cisco provisioning and administration guides list (7800/8800/6800 MPP, SPA5xx):
/// `provctl` warns about a name not in here, since a phone ignores a name it does not know (FACTS.md §4).
///
/// One name a line. `#` stands for an index (line, key, unit: `Display_Name_1_`); a trailing `?` marks a
/// `Yes`/`No` boolean. Lines starting with `# ` are section titles. The list is long but not complete: firmware
/// adds names; an unknown name is only a warning.
public enum ParameterCatalogue {
    static let source = """
# System / Configuration
Restricted_Access_Domains
Enable_Web_Server?
Enable_Protocol
Enable_Direct_Action_Url?
Session_Max_Timeout
Session_Idle_Timeout
Web_Server_Port
Enable_Web_Admin_Access?
Admin_Password
Admin_Passwd
User_Passwd
User_Password
Phone-UI-readonly?
Phone-UI-User-Mode?
User_Password_Prompt?
Block_Nonproxy_SIP?
Enable_PC_Port?
Enable_SW_Port?
Enable_Bluetooth?
Bluetooth_Mode
Line
Enable_CDP?
Enable_LLDP-MED?
Network_Startup_Delay
DSCP_For_LLDP
SSH_Access
SSH_Port
SSH_User_ID
SSH_Password
Console_Access
Enable_Console_Access?
Debug_Server
Syslog_Server
Syslog_Identifier
Debug_Level
Log_Level
Display_Debug_Log
PRT_Upload_Rule
PRT_Upload_Method
PRT_Max_Timer
PRT_Name
PRT_HTTP_Header
PRT_HTTP_Header_Value
Primary_NTP_Server
Secondary_NTP_Server
Enable_NTP_Auth?
NTP_Auth_Key_ID
NTP_Auth_Key
# Network settings
Connection_Type
Static_IP
NetMask
Gateway
Primary_DNS
Secondary_DNS
Domain
Host_Name
DNS_Server_Order
DNS_Query_Mode
DNS_Caching_Enable?
Switch_Port_Config
PC_Port_Config
PC_Port_Mirror_Enable?
Enable_VLAN?
VLAN_ID
PC_Port_VLAN_ID
Enable_PC_Port_VLAN_Tagging?
DHCP_VLAN_Option
HTTP_Proxy_Mode
Use_Auto_Discovery__WPAD_?
PAC_URL
Proxy_Host
Proxy_Port
Proxy_Server_Requires_Authentication?
Username
Password
Enable_VPN_Connection?
VPN_Server
VPN_User_Name
VPN_Password
VPN_Tunnel_Group
Connect_on_Bootup?
Enable_Login_Mode?
Enable_IPv6?
IP_Mode
IPv4_Address
IPv6_Address
IPv6_Static_Address
IPv6_Prefix_Length
IPv6_Gateway
IPv6_Primary_DNS
IPv6_Secondary_DNS
IPv6_Broadcast_Echo
IPv6_Auto-config?
DHCPv6_Option_To_Use
Enable_Wi-Fi?
Wi-Fi_Switch
Wi-Fi_Profile_#_
Network_Name_#_
Security_Mode_#_
Wi-Fi_User_ID_#_
Wi-Fi_Password_#_
Frequency_Band_#_
Wi-Fi_Profile_Name_#_
Network_Authentication_Mode
EAP_Type
Enable_802.1X_Authentication?
802.1X_Authentication_Identity
802.1X_Authentication_Password
Device_Authentication?
# SIP
Max_Forward
Max_Redirection
Max_Auth
SIP_User_Agent_Name
SIP_Server_Name
SIP_Reg_User_Agent_Name
SIP_Accept_Language
DTMF_Relay_MIME_Type
Hook_Flash_MIME_Type
Remove_Last_Reg?
Use_Compact_Header?
Escape_Display_Name?
Talk_Package?
Hold_Package?
Conference_Package?
RFC_2543_Call_Hold?
Random_REG_CID_on_Reboot?
SIP_TCP_Port_Min
SIP_TCP_Port_Max
Caller_ID_Header
Hold_Target_Before_REFER?
Dialog_SDP_Enable?
Keep_Referee_When_REFER_Failed?
Display_Diversion_Info?
Display_Anonymous_From_Header?
Sip_Accept_Encoding
Disable_Local_Name_To_Header?
SIP_T1
SIP_T2
SIP_T4
SIP_Timer_B
SIP_Timer_F
SIP_Timer_H
SIP_Timer_D
SIP_Timer_J
INVITE_Expires
ReINVITE_Expires
Reg_Min_Expires
Reg_Max_Expires
Reg_Retry_Intvl
Reg_Retry_Long_Intvl
Reg_Retry_Random_Delay
Reg_Retry_Long_Random_Delay
Reg_Retry_Intvl_Cap
Sub_Min_Expires
Sub_Max_Expires
Sub_Retry_Intvl
SIT1_RSC
SIT2_RSC
SIT3_RSC
SIT4_RSC
Try_Backup_RSC
Retry_Reg_RSC
Handle_VIA_received?
Handle_VIA_rport?
Insert_VIA_received?
Insert_VIA_rport?
Substitute_VIA_Addr?
Send_Resp_To_Src_Port?
STUN_Enable?
STUN_Test_Enable?
STUN_Server
EXT_IP
EXT_RTP_Port_Min
NAT_Keep_Alive_Intvl
Redirect_Keep_Alive?
Linksys_Key_System?
Multicast_Address
Key_System_Auto_Discovery?
Key_System_IP_Address
Force_LAN_Codec
RTP_Port_Min
RTP_Port_Max
RTP_Packet_Size
Max_RTP_ICMP_Err
RTCP_Tx_Interval
No_UDP_Checksum?
Symmetric_RTP?
Stats_In_BYE?
AVT_Dynamic_Payload
INFOREQ_Dynamic_Payload
INFORESP_Dynamic_Payload
H264_BP0_Dynamic_Payload
H264_BP_Dynamic_Payload
H264_HP_Dynamic_Payload
G722.2_Dynamic_Payload
G726r32_Dynamic_Payload
iLBC_Dynamic_Payload
iSAC_Dynamic_Payload
OPUS_Dynamic_Payload
AVT_16kHz_Dynamic_Payload
AVT_8kHz_Dynamic_Payload
EncapRTP_Dynamic_Payload
RTP-Start-Loopback_Dynamic_Payload
RTP-Start-Loopback_Codec
AVT_Codec_Name
G711u_Codec_Name
G711a_Codec_Name
G722_Codec_Name
G722.2_Codec_Name
G726r32_Codec_Name
G729a_Codec_Name
G729b_Codec_Name
G729_Codec_Name
iLBC_Codec_Name
iSAC_Codec_Name
OPUS_Codec_Name
EncapRTP_Codec_Name
# Provisioning
Provision_Enable?
Resync_On_Reset?
Resync_Random_Delay
Resync_At__HHmm_
Resync_At_Random_Delay
Resync_Periodic
Resync_Error_Retry_Delay
Forced_Resync_Delay
Resync_From_SIP?
Resync_After_Upgrade_Attempt?
Resync_Trigger_1
Resync_Trigger_2
User_Configurable_Resync?
Resync_Fails_On_FNF?
Profile_Authentication_Type
Profile_Rule
Profile_Rule_B
Profile_Rule_C
Profile_Rule_D
DHCP_Option_To_Use
Transport_Protocol
Log_Request_Msg
Log_Success_Msg
Log_Failure_Msg
Log_Resync_Request_Msg
Log_Resync_Success_Msg
Log_Resync_Failure_Msg
Report_Rule
HTTP_Report_Method
Report_To_Server
Periodic_Upload_To_Server
Upload_Delay_On_Local_Change
Upgrade_Enable?
Upgrade_Error_Retry_Delay
Downgrade_Rev_Limit
Upgrade_Rule
Log_Upgrade_Request_Msg
Log_Upgrade_Success_Msg
Log_Upgrade_Failure_Msg
Peer_Firmware_Sharing?
Peer_Firmware_Sharing_Log_Server
Cisco_Headset_Upgrade_Rule
Custom_CA_Rule
MIC_Cert_Refresh_Enable?
MIC_Cert_Refresh_Rule
HTTP_User_Agent_Name
Custom_CA_Provisioning_Status
Profile_Rule_Authentication
Authentication_Type
Device_Ownership_Identification
Enable_Secure_Onboarding?
Activation_Code
Rc_Region
GPP_A
GPP_B
GPP_C
GPP_D
GPP_E
GPP_F
GPP_G
GPP_H
GPP_I
GPP_J
GPP_K
GPP_L
GPP_M
GPP_N
GPP_O
GPP_P
GPP_SA
GPP_SB
GPP_SC
GPP_SD
IKM_HTTP_Encrypt_Content
Upgrade_Rule_Authentication
Onboarding_Rule
XSI_Host_Server
# Regional
Set_Local_Date__mm_dd_yyyy_
Set_Local_Time__HH_mm_
Time_Zone
Time_Offset__HH_mm_
Ignore_DHCP_Time_Offset?
Daylight_Saving_Time_Rule
Daylight_Saving_Time_Enable?
Dictionary_Server_Script
Language_Selection
Locale
Date_Format
Time_Format
Dial_Tone
Second_Dial_Tone
Outside_Dial_Tone
Prompt_Tone
Busy_Tone
Reorder_Tone
Ring_Back_Tone
Call_Waiting_Tone
Alert_Tone
MWI_Dial_Tone
Cfwd_Dial_Tone
Holding_Tone
Conference_Tone
Secure_Call_Indication_Tone
Page_Tone
Alert_Tone_Off?
Mute_Tone_Off?
Cadence_#
Ring#
Ring_Tone_#
Reorder_Delay
Interdigit_Long_Timer
Interdigit_Short_Timer
Call_Back_Expires
Call_Back_Retry_Intvl
Call_Back_Delay
Call_Return_Code
Blind_Transfer_Code
Call_Back_Act_Code
Call_Back_Deact_Code
Cfwd_All_Act_Code
Cfwd_All_Deact_Code
Cfwd_Busy_Act_Code
Cfwd_Busy_Deact_Code
Cfwd_No_Ans_Act_Code
Cfwd_No_Ans_Deact_Code
CW_Act_Code
CW_Deact_Code
CW_Per_Call_Act_Code
CW_Per_Call_Deact_Code
Block_CID_Act_Code
Block_CID_Deact_Code
Block_CID_Per_Call_Act_Code
Block_CID_Per_Call_Deact_Code
Block_ANC_Act_Code
Block_ANC_Deact_Code
DND_Act_Code
DND_Deact_Code
Secure_All_Call_Act_Code
Secure_No_Call_Act_Code
Secure_One_Call_Act_Code
Secure_One_Call_Deact_Code
Paging_Code
Call_Park_Code
Call_Pickup_Code
Call_Unpark_Code
Group_Call_Pickup_Code
Media_Loopback_Code
Referral_Services_Codes
Feature_Dial_Services_Codes
Prefer_G711u_Code
Force_G711u_Code
Prefer_G711a_Code
Force_G711a_Code
Prefer_G722_Code
Force_G722_Code
Prefer_G722.2_Code
Force_G722.2_Code
Prefer_G729a_Code
Force_G729a_Code
Prefer_iLBC_Code
Force_iLBC_Code
Prefer_OPUS_Code
Force_OPUS_Code
Handset_LED_Alert
Text_Message_Services
Local_Directory
Voice_Mail_Number
Voice_Mail_Enterprise_Number
# Phone
Station_Name
Station_Display_Name
Text_Logo
BMP_Picture_Download_URL
Select_Logo
Select_Background_Picture
Boot_Display
Picture_Download_URL
Logo_URL
Wallpaper_URL
Screen_Saver_Enable?
Screen_Saver_Type
Screen_Saver_Wait
Screen_Saver_Refresh_Period
Back_Light_Timer
Back_Light_Enable?
Display_Brightness
LCD_Contrast
Phone_Background
Enable_Cisco_Headset_Upgrade?
Line_Key_#_LED
Extension_#_
Short_Name_#_
Share_Call_Appearance_#_
Extended_Function_#_
Line_Key_Label_#_
Unit_#_Key_#_
Unit_#_Key_#_Label
Attendant_Console_Call_Pickup_Code
Attendant_Console_LCD_Contrast
Attendant_Console_Font_Size
Attendant_Console_Display_Mode
Subscribe_Expires
Subscribe_Retry_Interval
Subscribe_Delay
Number_of_Units
Server_Type
BLF_List_URI
Use_Line_Keys_For_BLF_List?
BLF_List?
Call_Pickup_Audio_Notification?
BLF_Label_Display_Mode
Cisco_XML_Exe_Enable?
CISCO_XML_EXE_Enable?
CISCO_XML_EXE_Auth_Mode
XML_Directory_Service_Name
XML_Directory_Service_URL
XML_Application_Service_Name
XML_Application_Service_URL
XML_User_Name
XML_Password
CISCO_XML_Exe_Auth_Mode
Broadsoft_XML_App_Enable?
Broadsoft_XML_App_Server
Broadsoft_XML_App_Port
Broadsoft_XML_Path
Broadsoft_XML_Login_Name
Broadsoft_XML_Login_Password
Multiple_Paging_Group_Parameters
Group_Paging_Script
Conference_Bridge_URL
Conference_Single_Hardkey?
Enable_Conference_Key?
Auto_Answer_Page?
Auto_Resume_On_Hold_Release?
Blind_Transfer_Serv?
Attn_Transfer_Serv?
Call_Back_Serv?
Call_Park_Serv?
Call_Pick_Up_Serv?
Group_Call_Pick_Up_Serv?
Cfwd_All_Serv?
Cfwd_Busy_Serv?
Cfwd_No_Ans_Serv?
Cfwd_Sel_Serv?
Cfwd_Last_Serv?
Block_Last_Serv?
Accept_Last_Serv?
Conference_Serv?
DND_Serv?
Block_ANC_Serv?
Block_CID_Serv?
Secure_Call_Serv?
Paging_Serv?
ACD_Login_Serv?
Service_Annc_Serv?
Call_Return_Serv?
Hold_Serv?
Call_Recording_Serv?
Reference_Serv?
Feature_Key_Sync?
Call_Record_Serv?
Dial_Assistance?
Hold_Reminder_Timer
Call_Forward_Softkey?
Miss_Call_Shortcut?
Display_Missed_Call?
Programmable_Softkey_Enable?
Idle_Key_List
Missed_Call_Key_List
Off_Hook_Key_List
Dialing_Input_Key_List
Progressing_Key_List
Connected_Key_List
Start-Xfer_Key_List
Start-Conf_Key_List
Conferencing_Key_List
Releasing_Key_List
Hold_Key_List
Ringing_Key_List
Shared_Active_Key_List
Shared_Held_Key_List
PSK_#
Display_Text_Message_on_Recv?
Text_Message?
Text_Message_From_3rd_Party?
Phone_Lock_Enable?
Lock_Phone_After_Inactivity?
Lock_Phone_Timeout
PIN_Code
Directory_Enable?
Personal_Directory_Enable?
Enable_Personal_Directory?
Search_All_Directories?
LDAP_Dir_Enable?
LDAP_Corp_Dir_Name
LDAP_Server
LDAP_Search_Base
LDAP_Client_DN
LDAP_Username
LDAP_Password
LDAP_Auth_Method
LDAP_Last_Name_Filter
LDAP_First_Name_Filter
LDAP_Search_Item_3
LDAP_Item_3_Filter
LDAP_Search_Item_4
LDAP_Item_4_Filter
LDAP_Display_Attrs
LDAP_Number_Mapping
LDAP_Name_Filter
LDAP_Number_Filter
LDAP_Max_Hits
LDAP_Dir_Name
LDAP_Directory_Enable?
LDAP_Incall_Lookup_Enable?
LDAP_Outcall_Lookup_Enable?
XSI_Phonebook_Enable?
XSI_Authentication_Type
Login_User_ID
Login_Password
SIP_Auth_ID
SIP_Password
Directory_Name
Directory_Type
Broadsoft_Directory_Enable?
Log_Missed_Calls_for_EXT_#
Log_Missed_Calls_for_EXT_#_?
Enable_Missed_Call_Badge?
Call_History_Enable?
Handset_Input_Gain
Headset_Input_Gain
Speaker_Volume
Ringer_Volume
Handset_Volume
Headset_Volume
Bluetooth_Volume
Bluetooth_Input_Gain
Speakerphone_Volume
Compact_Audio_Settings?
Electronic_HookSwitch_Control
Deferred_Ringing?
Default_Ring
Default_Ring__#_
Silent_Ring_Enable?
Call_Appearances_Per_Line
EHS_Fast_Protocol?
Missed_Call_Alert?
Speed_Dial_#_Name
Speed_Dial_#_Number
Speed_Dial_#_
DND_Setting?
CW_Setting?
Block_CID_Setting?
Block_ANC_Setting?
Secure_Call_Setting?
Cfwd_Setting?
Cfwd_All_Dest
Cfwd_Busy_Dest
Cfwd_No_Ans_Dest
Cfwd_No_Ans_Delay
Preferred_Audio_Device
Back_Light_Timer__sec_
Audio_Compliance_Mode
Accessibility_Voice_Feedback?
Font_Size
Key_Navigation
Enhanced_Line_Mode?
Incoming_Call_Notification?
Speaker_Mode?
Send_Audio_To_Speaker?
Headset_Type
Mobile_Headset_Type
Wideband_Headset?
# Ext_N_ / User_N_ line families
Line_Enable_#_?
Share_Ext_#_?
Shared_User_ID_#_
Subscription_Expires_#_
Restrict_MWI_#_?
NAT_Mapping_Enable_#_?
NAT_Keep_Alive_Enable_#_?
NAT_Keep_Alive_Msg_#_
NAT_Keep_Alive_Dest_#_
SIP_TOS_DiffServ_Value_#_
SIP_CoS_Value_#_
RTP_TOS_DiffServ_Value_#_
RTP_CoS_Value_#_
Network_Jitter_Level_#_
Jitter_Buffer_Adjustment_#_
SIP_Transport_#_
SIP_Port_#_
SIP_100REL_Enable_#_?
EXT_SIP_Port_#_
Auth_Resync-Reboot_#_?
SIP_Proxy-Require_#_
SIP_Remote-Party-ID_#_?
Referor_Bye_Delay_#_
Refer-To_Target_Contact_#_?
Referee_Bye_Delay_#_
Refer_Target_Bye_Delay_#_
Sticky_183_#_?
Auth_INVITE_#_?
Ntfy_Refer_On_1xx-To-Invite_#_?
Set_G729_annexb_#_
Voice_Quality_Report_Address_#_
VQ_Report_Interval_#_
User_Equal_Phone_#_?
Call_Recording_Protocol_#_
Privacy_Header_#_
P-Early-Media_Support_#_?
Blind_Attn-Xfer_Enable_#_?
Message_Waiting_#_?
Auth_Page_#_?
Default_Ring_#_
Auth_Page_Realm_#_
Conference_Bridge_URL_#_
Conference_Single_Hardkey_#_?
Auth_Page_Password_#_
Mailbox_ID_#_
Voice_Mail_Server_#_
Voice_Mail_Subscribe_Interval_#_
Auto_Ans_Page_On_Active_Call_#_?
Feature_Key_Sync_#_?
Call_Park_Monitor_Enable_#_?
Enable_Broadsoft_Hoteling_#_?
Hoteling_Subscription_Expires_#_
Secure_Call_Option_#_
Proxy_#_
Outbound_Proxy_#_
Alternate_Proxy_#_
Alternate_Outbound_Proxy_#_
Use_OB_Proxy_In_Dialog_#_?
Use_Outbound_Proxy_#_?
Register_#_?
Make_Call_Without_Reg_#_?
Register_Expires_#_
Ans_Call_Without_Reg_#_?
Use_DNS_SRV_#_?
DNS_SRV_Auto_Prefix_#_?
Proxy_Fallback_Intvl_#_
Proxy_Redundancy_Method_#_
Dual_Registration_#_?
Auto_Register_When_Failover_#_?
TLS_Name_Validate_#_?
Display_Name_#_
User_ID_#_
Password_#_
Auth_ID_#_
Reversed_Auth_Realm_#_
SIP_URI_#_
XSI_Host_Server_#_
XSI_Authentication_Type_#_
Login_User_ID_#_
Login_Password_#_
SIP_Auth_ID_#_
SIP_Password_#_
Preferred_Codec_#_
Use_Pref_Codec_Only_#_?
Second_Preferred_Codec_#_
Third_Preferred_Codec_#_
G711u_Enable_#_?
G711a_Enable_#_?
G722_Enable_#_?
G722.2_Enable_#_?
G729a_Enable_#_?
iLBC_Enable_#_?
iSAC_Enable_#_?
OPUS_Enable_#_?
Silence_Supp_Enable_#_?
DTMF_Tx_Method_#_
Codec_Negotiation_#_
Encryption_Method_#_
Use_Remote_Pref_Codec_#_?
Dial_Plan_#_
Caller_ID_Map_#_
Enable_URI_Dialing_#_?
Emergency_Number_#_
E911_Geolocation_Configuration
Company_UUID
Primary_Request_URL
Secondary_Request_URL
Event_Subscribe_#_?
Line_Key_#_
MOH_Server_#_
Auth_Register_#_?
SRTP_Method_#_
Mobile_Phone_Number_#_
Video_Enable_#_?
Enable_IP_Dialing_#_?
Blind_Transfer_Code_#_
Fax_Passthru_Method_#_
Call_Pickup_Audio_Notification_#_?
Shared_Line_DND_Cfwd_Enable_#_?
# Audio / Video / Misc
User_Agent
Voice_Quality_Metrics
Cisco_Headset_Vendor
Handle_Invite_Without_SDP?
Contact_Header_Name
Emergency_Call_Number
Power_Negotiation?
Energy_Efficient_Ethernet_PC_Port?
Energy_Efficient_Ethernet_SW_Port?
Power_Save_Enable?
Display_On_Time
Display_On_Duration
Display_Idle_Timeout
Display_On_When_Incoming_Call?
Enable_Power_Save_Plus?
Power_Off_Time
Power_Save_Idle_Timer
Power_On_Time
Cfwd_Display_Bypass?
HTTP_Digest_Authentication
SIP_Call_Forward_Notify?
Custom_Display_Name
Wireless_Profile
Call_Statistics?
Reboot_Delay
Ethernet_Port
"""

    struct Entries {
        var names: Set<String> = []
        var booleans: Set<String> = []
        /// Indexed families, split at each `#`: `["Display_Name_", "_"]`.
        var families: [(parts: [String], boolean: Bool)] = []
        /// The families by their text before the first index, for a lookup that does not scan them all.
        var familiesByLead: [String: [(parts: [String], boolean: Bool)]] = [:]
    }

    static let entries: Entries = {
        var entries = Entries()
        for line in source.split(separator: "\n") {
            if line.hasPrefix("# ") || line.isEmpty { continue }
            var name = String(line)
            let boolean = name.hasSuffix("?")
            if boolean { name.removeLast() }
            if name.contains("#") {
                let parts = name.split(separator: "#", omittingEmptySubsequences: false).map(String.init)
                entries.families.append((parts, boolean))
                entries.familiesByLead[parts[0], default: []].append((parts, boolean))
            } else {
                entries.names.insert(name)
                if boolean { entries.booleans.insert(name) }
            }
        }
        return entries
    }()

    /// Every name and family pattern in the catalogue, `#` for an index.
    public static var patterns: [String] {
        entries.names.sorted() + entries.families.map { $0.parts.joined(separator: "#") }
    }

    /// True when the guides list `name` (an indexed family matches any index from 1 to 999).
    public static func isKnown(_ name: String) -> Bool {
        entries.names.contains(name) || family(of: name) != nil
    }

    /// True for a parameter the guides document as `Yes`/`No`.
    public static func isBoolean(_ name: String) -> Bool {
        entries.booleans.contains(name) || family(of: name)?.boolean == true
    }

    static func family(of name: String) -> (parts: [String], boolean: Bool)? {
        // A family's lead ends where the first index starts: try the text before each digit that follows a
        // non-digit.
        var previousIsDigit = false
        for index in name.indices {
            let isDigit = name[index].isASCII && name[index].isNumber
            if isDigit && !previousIsDigit, let candidates = entries.familiesByLead[String(name[..<index])] {
                if let found = candidates.first(where: { matches(Substring(name), parts: $0.parts[...]) }) { return found }
            }
            previousIsDigit = isDigit
        }
        return nil
    }

    /// Matches `name` against literal parts separated by indexes (1 to 3 digits, no leading zero).
    static func matches(_ name: Substring, parts: ArraySlice<String>) -> Bool {
        guard let first = parts.first, name.hasPrefix(first) else { return false }
        let rest = name.dropFirst(first.count)
        if parts.count == 1 { return rest.isEmpty }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard (1...3).contains(digits.count), digits.first != "0" else { return false }
        return matches(rest.dropFirst(digits.count), parts: parts.dropFirst())
    }

    /// The catalogue name closest to `name` when it differs only by case or by one or two edits, for a hint.
    public static func nearest(to name: String) -> String? {
        let lower = name.lowercased()
        if let sameLetters = entries.names.first(where: { $0.lowercased() == lower }) { return sameLetters }
        var best: (String, Int)?
        for candidate in entries.names where abs(candidate.count - name.count) <= 2 {
            let distance = editDistance(Array(lower.utf8), Array(candidate.lowercased().utf8), limit: 2)
            if distance <= 2, best == nil || distance < best!.1 || (distance == best!.1 && candidate < best!.0) {
                best = (candidate, distance)
            }
        }
        return best?.0
    }

    static func editDistance(_ a: [UInt8], _ b: [UInt8], limit: Int) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, y) in b.enumerated() {
                current[j + 1] = min(previous[j] + (x == y ? 0 : 1), previous[j + 1] + 1, current[j] + 1)
            }
            if current.min()! > limit { return limit + 1 }
            previous = current
        }
        return previous[b.count]
    }
}

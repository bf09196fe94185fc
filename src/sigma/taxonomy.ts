/**
 * Sigma's Windows log sources as event log channels and event ids: the Sigma taxonomy (sigma-specification
 * Taxonomy_specification.md v1.3.4, "Windows Folder"), with the services pySigma's Windows pipeline maps
 * beyond it. Every channel here is carried by the event formats ingest reads (Windows XML, flat JSON, ECS),
 * so a rule on any of them is evaluated, never approximated.
 */

export const sysmonChannel = 'Microsoft-Windows-Sysmon/Operational';
const powershellChannels = ['Microsoft-Windows-PowerShell/Operational', 'PowerShellCore/Operational'];
const classicPowershell = 'Windows PowerShell';

/** Where a category's events are: channels and event ids. */
interface CategorySource {
  readonly channels: readonly string[];
  readonly eventIds: readonly number[];
}

const sysmon = (...eventIds: number[]): CategorySource => ({ channels: [sysmonChannel], eventIds });

/** logsource category -> Windows source (Sysmon event ids, PowerShell logging). */
export const categorySources: Readonly<Record<string, CategorySource>> = {
  process_creation: sysmon(1),
  file_change: sysmon(2),
  network_connection: sysmon(3),
  sysmon_status: sysmon(4, 16),
  process_termination: sysmon(5),
  driver_load: sysmon(6),
  image_load: sysmon(7),
  create_remote_thread: sysmon(8),
  raw_access_thread: sysmon(9),
  process_access: sysmon(10),
  file_event: sysmon(11),
  registry_add: sysmon(12),
  registry_delete: sysmon(12),
  registry_event: sysmon(12, 13, 14),
  registry_set: sysmon(13),
  registry_rename: sysmon(14),
  create_stream_hash: sysmon(15),
  pipe_created: sysmon(17, 18),
  wmi_event: sysmon(19, 20, 21),
  dns_query: sysmon(22),
  file_delete: sysmon(23, 26),
  clipboard_capture: sysmon(24),
  process_tampering: sysmon(25),
  sysmon_error: sysmon(255),
  ps_module: { channels: powershellChannels, eventIds: [4103] },
  ps_script: { channels: powershellChannels, eventIds: [4104] },
  ps_classic_start: { channels: [classicPowershell], eventIds: [400] },
  ps_classic_provider_start: { channels: [classicPowershell], eventIds: [600] },
  ps_classic_script: { channels: [classicPowershell], eventIds: [800] },
};

/** Categories the taxonomy places outside the event logs, with where their events come from. */
export const categoriesElsewhere: Readonly<Record<string, string>> = {
  file_access: 'the ETW provider Microsoft-Windows-Kernel-File',
  file_rename: 'the ETW provider Microsoft-Windows-Kernel-File',
};

/** logsource service -> event log channels. */
export const serviceChannels: Readonly<Record<string, readonly string[]>> = {
  application: ['Application'],
  security: ['Security'],
  system: ['System'],
  sysmon: [sysmonChannel],
  powershell: powershellChannels,
  'powershell-classic': [classicPowershell],
  applocker: [
    'Microsoft-Windows-AppLocker/MSI and Script',
    'Microsoft-Windows-AppLocker/EXE and DLL',
    'Microsoft-Windows-AppLocker/Packaged app-Deployment',
    'Microsoft-Windows-AppLocker/Packaged app-Execution',
  ],
  'appmodel-runtime': ['Microsoft-Windows-AppModel-Runtime/Admin'],
  'appxdeployment-server': ['Microsoft-Windows-AppXDeploymentServer/Operational'],
  'appxpackaging-om': ['Microsoft-Windows-AppxPackaging/Operational'],
  'bits-client': ['Microsoft-Windows-Bits-Client/Operational'],
  bitlocker: ['Microsoft-Windows-BitLocker/BitLocker Management'],
  capi2: ['Microsoft-Windows-CAPI2/Operational'],
  'certificateservicesclient-lifecycle-system': [
    'Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational',
  ],
  'codeintegrity-operational': ['Microsoft-Windows-CodeIntegrity/Operational'],
  dhcp: ['Microsoft-Windows-DHCP-Server/Operational'],
  'diagnosis-scripted': ['Microsoft-Windows-Diagnosis-Scripted/Operational'],
  'dns-client': ['Microsoft-Windows-DNS-Client/Operational'],
  'dns-server': ['DNS Server'],
  'dns-server-analytic': ['Microsoft-Windows-DNS-Server/Analytical'],
  'dns-server-audit': ['Microsoft-Windows-DNS-Server/Audit'],
  'driver-framework': ['Microsoft-Windows-DriverFrameworks-UserMode/Operational'],
  'firewall-as': ['Microsoft-Windows-Windows Firewall With Advanced Security/Firewall'],
  ldap_debug: ['Microsoft-Windows-LDAP-Client/Debug'],
  'lsa-server': ['Microsoft-Windows-LSA/Operational'],
  'microsoft-servicebus-client': ['Microsoft-ServiceBus-Client'],
  'msexchange-management': ['MSExchange Management'],
  ntlm: ['Microsoft-Windows-NTLM/Operational'],
  openssh: ['OpenSSH/Operational'],
  'printservice-admin': ['Microsoft-Windows-PrintService/Admin'],
  'printservice-operational': ['Microsoft-Windows-PrintService/Operational'],
  'security-mitigations': [
    'Microsoft-Windows-Security-Mitigations/Kernel Mode',
    'Microsoft-Windows-Security-Mitigations/User Mode',
  ],
  'shell-core': ['Microsoft-Windows-Shell-Core/Operational'],
  'smbclient-security': ['Microsoft-Windows-SmbClient/Security'],
  taskscheduler: ['Microsoft-Windows-TaskScheduler/Operational'],
  'terminalservices-localsessionmanager': [
    'Microsoft-Windows-TerminalServices-LocalSessionManager/Operational',
  ],
  vhdmp: ['Microsoft-Windows-VHDMP/Operational'],
  windefend: ['Microsoft-Windows-Windows Defender/Operational'],
  wmi: ['Microsoft-Windows-WMI-Activity/Operational'],
};

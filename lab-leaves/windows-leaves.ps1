# The Windows leaves of the script-executing lab target (src/lab/script-lab.ts), loaded before each remote
# script. The script itself runs unmodified in real PowerShell; only what Linux lacks is provided here, and
# each leaf asks the simulated Windows model (which records the telemetry) over loopback HTTP:
#   - the C: drive (a folder on disk, shared with the model), HKLM:/HKCU: (the model's registry),
#   - Get-CimInstance Win32_Process and Get-Service (the model's processes and services),
#   - Stop-Process -Id (a model process, or a real leaf program),
#   - [Security.Principal.WindowsIdentity]::GetCurrent() (the session's user and SID),
#   - Get-Acl of a folder (its owner and DACL as SDDL, from the model).
# cmstp.exe, eventcreate.exe, Sysmon64.exe, whoami, auditpol, wevtutil and icacls are real programs on disk (lab-leaves/leaf.mjs).
# A leaf this file does not model fails loudly, never quietly: a script that needs one must fail its test.
$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText'
$null = New-PSDrive -Name C -PSProvider FileSystem -Root $env:PH_LAB_DRIVE_C -Scope Global
Set-Location -LiteralPath $env:USERPROFILE

function Invoke-PhLeaf([string]$Leaf, [hashtable]$Body) {
  $json = ConvertTo-Json -InputObject $Body -Depth 6 -Compress
  $headers = @{ Authorization = "Bearer $env:PH_LEAVES_TOKEN" }
  $answer = Invoke-RestMethod -Uri "$env:PH_LEAVES_URL/$Leaf" -Method Post -Body $json -ContentType 'application/json' -Headers $headers
  if ($answer.error) { throw [System.Management.Automation.ItemNotFoundException]::new([string]$answer.error) }
  $answer.result
}

# Registry paths in any form PowerShell accepts, as the model keys them: HKLM:\... or HKCU:\...
function ConvertTo-PhRegistryPath([string]$Path) {
  if ($Path -match '^(?:Microsoft\.PowerShell\.Core\\)?Registry::(HKEY_LOCAL_MACHINE|HKEY_CURRENT_USER)(\\.*)?$') {
    $hive = if ($Matches[1] -eq 'HKEY_LOCAL_MACHINE') { 'HKLM:' } else { 'HKCU:' }
    return ($hive + $Matches[2]).TrimEnd('\')
  }
  if ($Path -match '^(HKLM|HKCU):(\\.*)?$') { return ($Matches[1].ToUpperInvariant() + ':' + $Matches[2]).TrimEnd('\') }
  $null
}

function ConvertTo-PhNativeKey([string]$Key) {
  $Key -replace '^HKLM:', 'HKEY_LOCAL_MACHINE' -replace '^HKCU:', 'HKEY_CURRENT_USER'
}

function Get-PhKey([string]$Key) {
  $found = Invoke-PhLeaf 'registry' @{ op = 'get'; path = $Key }
  if (-not $found.exists) { return $null }
  $native = ConvertTo-PhNativeKey $Key
  [pscustomobject]@{
    PSTypeName = 'Microsoft.Win32.RegistryKey'
    PSPath = "Microsoft.PowerShell.Core\Registry::$native"
    PSChildName = Split-Path -Leaf $Key
    Name = $native
    Property = [string[]]@($found.values | ForEach-Object { $_.name })
    ValueCount = @($found.values).Count
    SubKeyCount = 0
    Values = @($found.values)
  }
}

function Write-PhNotFound([string]$Path) {
  $exception = [System.Management.Automation.ItemNotFoundException]::new("Cannot find path '$Path' because it does not exist.")
  Write-Error -Exception $exception -Category ObjectNotFound -TargetObject $Path
}

# What the registry provider would do for one cmdlet call; $null when the call names no registry path.
function Invoke-PhRegistryCmdlet([string]$Cmdlet, [hashtable]$Bound) {
  $paths = @(@($Bound['LiteralPath']) + @($Bound['Path']) | Where-Object { $_ })
  if ($paths.Count -eq 0 -or $null -eq (ConvertTo-PhRegistryPath $paths[0])) { return $null }
  $output = foreach ($path in $paths) {
    $key = ConvertTo-PhRegistryPath $path
    if ($null -eq $key) { throw "purple-harness lab: $Cmdlet mixes registry and file paths ($path)" }
    $item = Get-PhKey $key
    switch ($Cmdlet) {
      'Test-Path' { $null -ne $item }
      'Get-Item' { if ($item) { $item } else { Write-PhNotFound $path } }
      'Remove-Item' {
        if ($item) { $null = Invoke-PhLeaf 'registry' @{ op = 'remove-key'; path = $key } } else { Write-PhNotFound $path }
      }
      default {
        if (-not $item) { Write-PhNotFound $path; continue }
        $names = @(@($Bound['Name']) | Where-Object { $_ })
        if ($Cmdlet -ne 'Get-ItemProperty' -and $names.Count -eq 0) { throw "purple-harness lab: $Cmdlet without -Name is not modelled" }
        if ($names.Count -eq 0) { $names = $item.Property }
        $properties = [ordered]@{}
        foreach ($name in $names) {
          $value = $item.Values | Where-Object { $_.name -eq $name } | Select-Object -First 1
          if (-not $value) {
            $exception = [System.Management.Automation.PSArgumentException]::new("Property $name does not exist at path $($item.Name).")
            Write-Error -Exception $exception -Category InvalidArgument -TargetObject $name
            continue
          }
          switch ($Cmdlet) {
            'Get-ItemPropertyValue' { $value.data }
            'Remove-ItemProperty' { $null = Invoke-PhLeaf 'registry' @{ op = 'remove-value'; path = $key; name = $value.name } }
            default { $properties[$value.name] = $value.data }
          }
        }
        if ($Cmdlet -eq 'Get-ItemProperty' -and $properties.Count -gt 0) {
          $properties['PSPath'] = $item.PSPath
          $properties['PSChildName'] = $item.PSChildName
          [pscustomobject]$properties
        }
      }
    }
  }
  , @($output)
}

# Stop-Process -Id on a model process (or a real leaf program the model knows); anything else: the cmdlet.
function Invoke-PhStopProcess([hashtable]$Bound) {
  if (-not $Bound.ContainsKey('Id')) { return $null }
  , @(foreach ($id in $Bound['Id']) {
    $stopped = Invoke-PhLeaf 'stop-process' @{ id = [int]$id }
    if (-not $stopped) {
      $exception = [System.Management.Automation.ItemNotFoundException]::new("Cannot find a process with the process identifier $id.")
      Write-Error -Exception $exception -Category ObjectNotFound -TargetObject $id
    }
  })
}

# Each cmdlet that can touch a leaf becomes a function with the real cmdlet's own parameters (so a wrong
# parameter name fails here as it would on Windows), which hands the call to the real cmdlet unless it
# names a leaf.
foreach ($cmdlet in 'Test-Path', 'Get-Item', 'Get-ItemProperty', 'Get-ItemPropertyValue', 'Remove-Item', 'Remove-ItemProperty', 'Stop-Process') {
  $metadata = [System.Management.Automation.CommandMetadata]::new((Get-Command -Name "Microsoft.PowerShell.Management\$cmdlet" -CommandType Cmdlet))
  $leaf = if ($cmdlet -eq 'Stop-Process') { 'Invoke-PhStopProcess $PSBoundParameters' } else { "Invoke-PhRegistryCmdlet '$cmdlet' `$PSBoundParameters" }
  $body = [System.Management.Automation.ProxyCommand]::GetCmdletBindingAttribute($metadata) +
    "`nparam(" + [System.Management.Automation.ProxyCommand]::GetParamBlock($metadata) + ")`n" +
    "process { `$handled = $leaf; if (`$null -ne `$handled) { `$handled } else { Microsoft.PowerShell.Management\$cmdlet @PSBoundParameters } }"
  Set-Item -LiteralPath "function:global:$cmdlet" -Value ([scriptblock]::Create($body))
}

# CimCmdlets does not exist off Windows. The parameters are Get-CimInstance's documented ones
# (learn.microsoft.com/powershell/module/cimcmdlets/get-ciminstance); only Win32_Process is modelled.
function global:Get-CimInstance {
  [CmdletBinding(DefaultParameterSetName = 'ClassNameComputerSet')]
  param(
    [Parameter(ParameterSetName = 'ClassNameComputerSet', Mandatory = $true, Position = 0)] [string]$ClassName,
    [Parameter(ParameterSetName = 'ClassNameComputerSet')] [string]$Filter,
    [Parameter(ParameterSetName = 'ClassNameComputerSet')] [string[]]$Property,
    [Parameter(ParameterSetName = 'ClassNameComputerSet')] [switch]$KeyOnly,
    [Parameter(ParameterSetName = 'QueryComputerSet', Mandatory = $true)] [string]$Query,
    [string]$QueryDialect,
    [string]$Namespace,
    [uint32]$OperationTimeoutSec,
    [switch]$Shallow,
    [string[]]$ComputerName
  )
  if ($PSCmdlet.ParameterSetName -ne 'ClassNameComputerSet' -or $ClassName -ne 'Win32_Process') {
    throw "purple-harness lab: Get-CimInstance is modelled for -ClassName Win32_Process only"
  }
  $conditions = @()
  if ($Filter) {
    foreach ($clause in $Filter -split '\s+AND\s+') {
      if ($clause -notmatch "^\s*(\w+)\s*=\s*'?([^']*?)'?\s*$") { throw "purple-harness lab: WQL filter not modelled: $Filter" }
      $conditions += , @($Matches[1], $Matches[2])
    }
  }
  foreach ($process in @(Invoke-PhLeaf 'processes' @{})) {
    $instance = [pscustomobject]@{
      PSTypeName = 'Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_Process'
      ProcessId = [uint32]$process.ProcessId
      ParentProcessId = [uint32]$process.ParentProcessId
      Name = [string]$process.Name
      CommandLine = [string]$process.CommandLine
      ExecutablePath = [string]$process.ExecutablePath
    }
    $match = $true
    foreach ($condition in $conditions) {
      if ($null -eq $instance.PSObject.Properties[$condition[0]]) { throw "purple-harness lab: Win32_Process has no modelled property $($condition[0])" }
      if ([string]$instance.($condition[0]) -ne $condition[1]) { $match = $false }
    }
    if ($match) { $instance }
  }
}

# Get-Service is Windows-only in PowerShell 7; parameters as documented for Windows PowerShell 5.1.
function global:Get-Service {
  [CmdletBinding(DefaultParameterSetName = 'Default')]
  param(
    [Parameter(ParameterSetName = 'Default', Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)] [Alias('ServiceName')] [string[]]$Name,
    [Parameter(ParameterSetName = 'DisplayName', Mandatory = $true)] [string[]]$DisplayName,
    [string[]]$Include,
    [string[]]$Exclude,
    [Alias('DS')] [switch]$DependentServices,
    [Alias('SDO', 'ServicesDependedOn')] [switch]$RequiredServices,
    [Alias('Cn')] [string[]]$ComputerName
  )
  process {
    $services = @(Invoke-PhLeaf 'services' @{})
    $wanted = if ($PSCmdlet.ParameterSetName -eq 'DisplayName') { $DisplayName } elseif ($Name) { $Name } else { '*' }
    foreach ($pattern in $wanted) {
      $found = @($services | Where-Object { $(if ($PSCmdlet.ParameterSetName -eq 'DisplayName') { $_.DisplayName } else { $_.Name }) -like $pattern })
      if ($found.Count -eq 0 -and -not [WildcardPattern]::ContainsWildcardCharacters($pattern)) {
        $exception = [System.Management.Automation.ItemNotFoundException]::new("Cannot find any service with service name '$pattern'.")
        Write-Error -Exception $exception -Category ObjectNotFound -TargetObject $pattern
      }
      foreach ($service in $found) {
        [pscustomobject]@{ Name = $service.Name; DisplayName = $service.DisplayName; Status = $service.Status }
      }
    }
  }
}

# Get-Acl is Windows-only in PowerShell 7; parameters as documented for Windows PowerShell 5.1. A folder's
# security comes from the model (its owner and DACL as SDDL); anything else is not modelled and says so.
function global:Get-Acl {
  [CmdletBinding(DefaultParameterSetName = 'ByPath')]
  param(
    [Parameter(ParameterSetName = 'ByPath', Position = 0, ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)] [string[]]$Path,
    [Parameter(ParameterSetName = 'ByInputObject', Mandatory = $true)] [psobject]$InputObject,
    [Parameter(ParameterSetName = 'ByLiteralPath', ValueFromPipelineByPropertyName = $true)] [Alias('PSPath')] [string[]]$LiteralPath,
    [switch]$Audit,
    [switch]$AllCentralAccessPolicies,
    [string]$Filter,
    [string[]]$Include,
    [string[]]$Exclude
  )
  process {
    if ($PSCmdlet.ParameterSetName -eq 'ByInputObject' -or $Audit -or $AllCentralAccessPolicies -or $Filter -or $Include -or $Exclude) {
      throw 'purple-harness lab: Get-Acl is modelled for -Path or -LiteralPath of a folder only'
    }
    foreach ($item in @(@($LiteralPath) + @($Path) | Where-Object { $_ })) {
      $security = Invoke-PhLeaf 'acl' @{ path = [string]$item }
      [pscustomobject]@{
        PSTypeName = 'System.Security.AccessControl.DirectorySecurity'
        Path = "Microsoft.PowerShell.Core\FileSystem::$item"
        Owner = $security.owner
        Sddl = $security.sddl
      }
    }
  }
}

# COM does not exist off Windows. Add-Type compiles the script's C# for real; a compiled class that reaches
# ICMLuaUtil (the interface's IID) through a static Run(string file, string parameters) is then answered by the
# model's CMSTPLUA surrogate instead (PowerShell resolves the class's name to this leaf from then on). The
# elevation moniker itself only a Windows host can exercise: `purple-harness lab smoke` does.
class PhCmLuaLeaf {
  static [int] Run([string]$file, [string]$parameters) {
    $body = ConvertTo-Json -InputObject @{ file = $file; parameters = $parameters; ppid = [Environment]::ProcessId } -Compress
    $headers = @{ Authorization = "Bearer $env:PH_LEAVES_TOKEN" }
    $answer = Invoke-RestMethod -Uri "$env:PH_LEAVES_URL/com-shellexec" -Method Post -Body $body -ContentType 'application/json' -Headers $headers
    if ($answer.error) { throw [string]$answer.error }
    return [int]$answer.result
  }
}
$metadata = [System.Management.Automation.CommandMetadata]::new((Get-Command -Name 'Microsoft.PowerShell.Utility\Add-Type' -CommandType Cmdlet))
$body = [System.Management.Automation.ProxyCommand]::GetCmdletBindingAttribute($metadata) +
  "`nparam(" + [System.Management.Automation.ProxyCommand]::GetParamBlock($metadata) + ")`n" + @'
end {
  $asked = $PSBoundParameters.ContainsKey('PassThru')
  $PSBoundParameters['PassThru'] = $true
  $types = @(Microsoft.PowerShell.Utility\Add-Type @PSBoundParameters)
  $reachesLua = $types | Where-Object { $_.IsInterface -and $_.GUID -eq [guid]'6EDD6D74-C007-4E75-B76A-E5740995E24C' }
  if ($reachesLua) {
    foreach ($type in $types) {
      $run = $type.GetMethod('Run', [type[]]@([string], [string]))
      if ($run -and $run.IsStatic -and $run.ReturnType -eq [int]) {
        [psobject].Assembly.GetType('System.Management.Automation.TypeAccelerators')::Add($type.FullName, [PhCmLuaLeaf])
      }
    }
  }
  if ($asked) { $types }
}
'@
Set-Item -LiteralPath 'function:global:Add-Type' -Value ([scriptblock]::Create($body))

# Windows identities do not exist off Windows: the session's user, as sshd logged it on.
class PhSecurityIdentifier {
  [string]$Value
  [string] ToString() { return $this.Value }
}
class PhWindowsIdentity {
  [string]$Name
  [PhSecurityIdentifier]$User
  static [PhWindowsIdentity] GetCurrent() {
    $identity = [PhWindowsIdentity]::new()
    $identity.Name = "$env:USERDOMAIN\$env:USERNAME"
    $identity.User = [PhSecurityIdentifier]@{ Value = $env:PH_USER_SID }
    return $identity
  }
}
$PhAccelerators = [psobject].Assembly.GetType('System.Management.Automation.TypeAccelerators')
$PhAccelerators::Add('Security.Principal.WindowsIdentity', [PhWindowsIdentity])
$PhAccelerators::Add('System.Security.Principal.WindowsIdentity', [PhWindowsIdentity])
Remove-Variable -Name PhAccelerators, cmdlet, metadata, leaf, body
# Windows PowerShell starts with Continue; the scripts set their own preference.
$ErrorActionPreference = 'Continue'

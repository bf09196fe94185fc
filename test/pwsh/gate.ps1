# The Windows PowerShell 5.1 gate: parses every script named on the command line with PowerShell's own parser
# and reports, as one JSON document, its syntax errors and what Windows PowerShell 5.1 does not have.
# Run by test/pwsh/gate.int.test.ts under PowerShell 7 (whose parser knows the 7.x syntax, so it can name it).
# -ListFile names a text file with one script path per line.
param([string]$ListFile)
$ErrorActionPreference = 'Stop'
$Files = @(Get-Content -LiteralPath $ListFile | Where-Object { $_ -ne '' })
$nativeNames = @('auditpol', 'eventcreate', 'sysmon', 'sysmon64', 'sc', 'reg', 'cmstp', 'whoami', 'icacls', 'schtasks', 'wevtutil', 'netsh')
$report = foreach ($file in $Files) {
  $tokens = $null
  $errors = $null
  $ast = [System.Management.Automation.Language.Parser]::ParseFile($file, [ref]$tokens, [ref]$errors)
  $problems = [System.Collections.Generic.List[string]]::new()
  foreach ($e in $errors) { $problems.Add("syntax: line $($e.Extent.StartLineNumber): $($e.Message)") }
  $all = $ast.FindAll({ $true }, $true)
  foreach ($node in $all) {
    $line = $node.Extent.StartLineNumber
    $type = $node.GetType().Name
    if ($type -eq 'TernaryExpressionAst') { $problems.Add("5.1: line ${line}: the ternary operator ?: is PowerShell 7 only") }
    if ($type -eq 'PipelineChainAst') { $problems.Add("5.1: line ${line}: pipeline chains (&& and ||) are PowerShell 7 only") }
    if ($type -eq 'BinaryExpressionAst' -and $node.Operator -eq 'QuestionQuestion') { $problems.Add("5.1: line ${line}: ?? is PowerShell 7 only") }
    if ($type -eq 'AssignmentStatementAst' -and $node.Operator -eq 'QuestionQuestionEquals') { $problems.Add("5.1: line ${line}: ??= is PowerShell 7 only") }
    if (($type -eq 'MemberExpressionAst' -or $type -eq 'InvokeMemberExpressionAst' -or $type -eq 'IndexExpressionAst') -and $node.NullConditional) { $problems.Add("5.1: line ${line}: null-conditional access (?. and ?[]) is PowerShell 7 only") }
    if ($type -eq 'CommandAst') {
      $name = $node.GetCommandName()
      $params = @($node.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] } | ForEach-Object { $_.ParameterName.ToLowerInvariant() })
      if ($name -in @('ForEach-Object', '%', 'foreach') -and $params -contains 'parallel') { $problems.Add("5.1: line ${line}: ForEach-Object -Parallel is PowerShell 7 only") }
      if ($name -eq 'ConvertTo-Json' -and $params -contains 'asarray') { $problems.Add("5.1: line ${line}: ConvertTo-Json -AsArray is PowerShell 7 only") }
      # A native program whose stderr is redirected becomes a terminating error in 5.1 under 'Stop':
      # it needs a local $ErrorActionPreference = 'Continue' in its own script block or function.
      $leaf = if ($name) { [System.IO.Path]::GetFileNameWithoutExtension($name).ToLowerInvariant() } else { '' }
      $invokesExe = $node.InvocationOperator -ne 'Unknown' -and -not $name
      $native = ($leaf -in $nativeNames) -or ($name -and $name.ToLowerInvariant().EndsWith('.exe')) -or $invokesExe
      $redirected = @($node.Redirections | Where-Object { $_.FromStream -eq 'Error' -or $_.FromStream -eq 'All' }).Count -gt 0
      if ($native -and $redirected) {
        $scope = $node.Parent
        while ($scope -and -not ($scope -is [System.Management.Automation.Language.ScriptBlockAst])) { $scope = $scope.Parent }
        $guarded = $scope -and @($scope.FindAll({
              param($n)
              $n -is [System.Management.Automation.Language.AssignmentStatementAst] -and
              $n.Left.Extent.Text -match '^\$ErrorActionPreference$' -and
              $n.Right.Extent.Text -match 'Continue' -and
              $n.Extent.StartOffset -lt $node.Extent.StartOffset
            }, $false)).Count -gt 0
        if (-not $guarded) { $problems.Add("5.1: line ${line}: native command '$($node.Extent.Text.Split(' ')[0])' redirects stderr under `$ErrorActionPreference = 'Stop' with no local 'Continue': one stderr line would end the whole script in Windows PowerShell 5.1") }
      }
    }
  }
  [pscustomobject]@{ file = $file; problems = @($problems) }
}
ConvertTo-Json -InputObject @($report) -Depth 4 -Compress

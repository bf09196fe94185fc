// A Windows program the script-executing lab target lacks (cmstp.exe, eventcreate.exe, Sysmon64.exe, whoami,
// auditpol), as a real process: the scripts start it as they would on Windows, with its real process id and
// parent, and the simulated Windows model (src/lab/script-lab.ts) decides what it does and records the
// telemetry. Usage, from the wrappers the lab writes: node leaf.mjs <program> [arguments...]
const [program, ...argv] = process.argv.slice(2);
const response = await fetch(`${process.env.PH_LEAVES_URL}/program`, {
  method: 'POST',
  headers: { authorization: `Bearer ${process.env.PH_LEAVES_TOKEN}`, 'content-type': 'application/json' },
  body: JSON.stringify({ program, argv, pid: process.pid, ppid: process.ppid }),
});
const answer = await response.json();
if (answer.error) {
  process.stderr.write(`purple-harness lab: ${program}: ${answer.error}\n`);
  process.exit(1);
}
process.stdout.write(answer.result.stdout);
process.stderr.write(answer.result.stderr);
// Windows exit codes are 32-bit (cmstp reports HRESULTs); a Linux process keeps only the low byte.
process.exitCode = answer.result.exitCode & 0xff;

/**
 * The pipeline canary: before each run the host writes this text to its Application log with
 * eventcreate.exe. The harness looks for eventcreate's own process start (Sysmon 1, or Security 4688 with
 * command lines), which carries the text and travels the very path the signals' events take.
 */
export function canaryText(marker: string): string {
  return `purple-harness-canary ${marker}`;
}

/* The event-time paddings the harness's windows are built from, each written once. */

/**
 * Event-time padding for clock skew between harness and host (siem-apis.md 1.2): a run's evidence window
 * opens this long before the emulation started by the harness's clock, wider still when preflight measured
 * a larger skew.
 */
export const clockSkewPadMs = 5 * 60_000;

/**
 * cmstp's own run, on the target's clock: events with no marker (network, image load, process access,
 * registry) are tied to this run by falling inside it. Sysmon stamps events with the same clock the helper
 * read before starting and after reaping cmstp, so the window stays tight; a wider one would catch the
 * previous scenario on the same host. The whole /au chain took 0.3 s in the OTRF recording.
 */
export const processWindowPadMs = { before: 500, after: 1000 } as const;

/**
 * The window activity with no marker is tied to cmstp by (host clock, epoch ms): from the pad before cmstp
 * started to the later of the pad after it ended and the tuning's TimeWindow after it started (AN0932's
 * TimeWindow: how long after cmstp starts its network and child activity still counts). With no TimeWindow,
 * cmstp's own run and the pad.
 */
export function activityWindow(
  start: number,
  end: number,
  timeWindowMs: number | null,
): { readonly since: number; readonly until: number } {
  return {
    since: start - processWindowPadMs.before,
    until: Math.max(end + processWindowPadMs.after, timeWindowMs === null ? -Infinity : start + timeWindowMs),
  };
}

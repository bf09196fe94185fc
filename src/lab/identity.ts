/**
 * The embedded lab's Windows user, as its simulated host reports it. Kept apart from the host model so what
 * only needs the name (the tuning plan's registry keys, HKU\<SID>\...) does not load the simulator.
 */
export const embeddedUserSid = 'S-1-5-21-3470123407-2231371018-3463402313-1001';

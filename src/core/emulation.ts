import type { RemoteOperation } from './plugins.js';

/* What the render stage hands to the execute stage, and what the executor saw: the emulation's own files. */

/** A file the payload server serves under the run's folder (/<marker>/...). */
export interface ServedFile {
  readonly host: string;
  readonly path: string;
  readonly url: string;
  readonly content: string;
  readonly sha256: string;
}

/** A file the harness uploads to the target before cmstp runs. */
export interface StagedFile {
  readonly remotePath: string;
  readonly content: string;
  readonly sha256: string;
}

/** What the render stage hands to the execute stage for one scenario on one host. */
export interface RenderedEmulation {
  readonly marker: string;
  /** Windows path of the run's own folder on the target. */
  readonly runDir: string;
  /** The file staged before the launch (the INF); null when nothing is staged (a direct COM call). */
  readonly payload: StagedFile | null;
  readonly markerPath: string;
  /** A scriptlet the payload server hands out during the run, for remote-SCT emulations. */
  readonly scriptlet: ServedFile | null;
  /** A scriptlet staged beside the INF, for an SCT named by a path or a share path (`scriptlet.via`). */
  readonly stagedScriptlet: StagedFile | null;
  /**
   * The INF again, served by the payload server, when cmstp is given its URL (`inf.via: url`); the staged
   * copy stays for clean-up's uninstall.
   */
  readonly servedInf: ServedFile | null;
  /** What starts the emulation: cmstp's command line, or the COM call. */
  readonly cmstpCommandLine: string;
  /**
   * How the harness proves the payload ran: the marker file exists, cmstp exited 0, or there is no payload;
   * `started` for a cmstp run without /s, which waits for a confirmation dialog nobody can answer over SSH
   * and runs nothing: only its start is the point, and being killed at the deadline is its expected end.
   */
  readonly payloadEvidence: 'marker-file' | 'exit-code' | 'none' | 'started';
  /**
   * `emulation.followUp`: a direct ICMLuaUtil.ShellExec call `afterMs` after cmstp started (on the host's
   * clock, by the run operation itself), starting the payload command again with a marker file of its own;
   * null when the scenario has none.
   */
  readonly followUp: {
    readonly afterMs: number;
    readonly afterEndMs: number;
    readonly markerPath: string;
  } | null;
  readonly operations: {
    /**
     * Makes the working folder (C:\\ProgramData\\purple-harness) administrators-only, or refuses one someone
     * else created: the first operation, so nothing is uploaded to a folder others can write.
     */
    readonly secureFolder: RemoteOperation;
    readonly preflight: RemoteOperation;
    /** Writes the pipeline canary (core/canary.ts) to the host's event log. */
    readonly canary: RemoteOperation;
    readonly snapshot: RemoteOperation;
    /** Takes the target-side host lock (a file on the host), so runs from any machine never overlap. */
    readonly lock: RemoteOperation;
    /** Releases the lock if, and only if, this run holds it. */
    readonly unlock: RemoteOperation;
    readonly run: RemoteOperation;
    /** `cmstp /s /u` for a profile the run registered; a no-op on the host when there is none. */
    readonly uninstall: RemoteOperation;
    cleanup(createdKeys: readonly string[]): RemoteOperation;
  };
}

/** One exchange with the target, as the executor saw it: the evidence bundle's command transcript. */
export interface TranscriptEntry {
  readonly kind: 'run' | 'upload';
  /** The operation's name (preflight, run-cmstp, cleanup, ...) or the uploaded file's remote path. */
  readonly name: string;
  readonly startedAt: string;
  readonly durationMs: number;
  /** The script sent (run) or the file's SHA-256 (upload). */
  readonly sent: string;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the exchange itself failed (connection lost, refused, ...). */
  readonly error: string | null;
}

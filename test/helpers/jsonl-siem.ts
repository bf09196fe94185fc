import { appendFileSync } from 'node:fs';
import type { SiemFixture } from '../contracts/siem-connector.js';

/**
 * The test bridge's "SIEM" (test/fixtures/siem-command-plugin.ts) is a JSON-lines file of flat events: this
 * seeds one event into it as the contract suite asks, numbering the refs.
 */
export function jsonlSeeder(file: string): SiemFixture['seed'] {
  let n = 0;
  return (host, time, fields) => {
    n += 1;
    appendFileSync(
      file,
      `${JSON.stringify({ ref: `ev${String(n)}`, time: time.toISOString(), host, eventId: Number(fields.EventID), fields: { ...fields, Computer: host } })}\n`,
    );
    return Promise.resolve();
  };
}

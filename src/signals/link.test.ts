import test from 'ava';
import type { SiemEvent } from '../core/index.js';
import { eventsNamedIn, namesAnotherRun } from './link.js';

const marker = 'phabc123def456';
const cmstpGuid = '{5770385f-c22a-43e0-bf4c-06f5698ffbd9}';
const earlierGuid = '{5770385f-aaaa-43e0-bf4c-06f5698ffbd9}';
const event = (ref: string, eventId: number, fields: Record<string, string>): SiemEvent => ({
  ref,
  eventId,
  time: '2026-12-04T01:00:00.000Z',
  indexedAt: null,
  host: 'WIN10-LAB-01',
  fields,
});

// One cmstp process and its own DNS query, connection and scriptlet-runtime load: all share its ProcessGuid.
const cmstpStart = event('start', 1, {
  ProcessGuid: cmstpGuid,
  Image: 'C:\\Windows\\System32\\cmstp.exe',
  CommandLine: `cmstp.exe /s /ns C:\\Users\\lab\\AppData\\Local\\Temp\\${marker}.inf`,
});
const dns = event('dns', 22, { ProcessGuid: cmstpGuid, QueryName: 'payload.lab.test' });
const network = event('net', 3, { ProcessGuid: cmstpGuid, DestinationIp: '10.20.0.15' });
const imageLoad = event('load', 7, {
  ProcessGuid: cmstpGuid,
  ImageLoaded: 'C:\\Windows\\System32\\scrobj.dll',
});
const events = [cmstpStart, dns, network, imageLoad];

/** An alert's text as a SIEM would carry it: the fields of the event its rule matched. */
const alertOn = (e: SiemEvent): string => Object.values(e.fields).join('\n');

test('#14.2 alerts on cmstp DNS, network and image-load events never detect cmstp-exec (shared ProcessGuid)', (t) => {
  t.deepEqual(eventsNamedIn(alertOn(dns), events, marker), ['dns']);
  t.deepEqual(eventsNamedIn(alertOn(network), events, marker), ['net']);
  t.deepEqual(eventsNamedIn(alertOn(imageLoad), events, marker), ['load']);
  t.deepEqual(eventsNamedIn(alertOn(cmstpStart), events, marker), ['start']);
});

test("#14.2 an earlier run's alert on the same scrobj.dll load does not detect this run's scriptlet-load", (t) => {
  const earlier = event('old', 7, {
    ProcessGuid: earlierGuid,
    ImageLoaded: 'C:\\Windows\\System32\\scrobj.dll',
  });
  t.deepEqual(eventsNamedIn(alertOn(earlier), events, marker), []);
  // Nor does one naming only a constant, such as the payload host.
  t.deepEqual(eventsNamedIn('payload.lab.test', events, marker), []);
});

test('#14.2 an alert that names the run (its marker) and what the event recorded is linked', (t) => {
  const file = event('file', 11, { TargetFilename: `C:\\ProgramData\\purple-harness\\${marker}.txt` });
  t.deepEqual(eventsNamedIn(`file written: C:\\ProgramData\\purple-harness\\${marker}.txt`, [file], marker), [
    'file',
  ]);
  // The marker of another run does not tie it.
  t.deepEqual(
    eventsNamedIn('file written: C:\\ProgramData\\purple-harness\\phzzzzzzzzzzzz.txt', [file], marker),
    [],
  );
});

test('#15 an event that names another run belongs to it; one that names this run, or no run, may be ours', (t) => {
  const other = 'ph999999999999';
  const child = (commandLine: string) =>
    event('child', 1, { CommandLine: commandLine, ParentImage: 'DllHost.exe' });

  t.true(namesAnotherRun(child(`cmd.exe /c echo ${other}> C:\\ProgramData\\x\\${other}.txt`), marker));
  t.false(namesAnotherRun(child(`cmd.exe /c echo ${marker}> C:\\x\\${marker}.txt`), marker));
  t.false(namesAnotherRun(child('C:\\Windows\\system32\\DllHost.exe /Processid:{3E5FC7F9}'), marker));
  // Marker-shaped text inside a longer word is not a marker.
  t.false(namesAnotherRun(child('C:\\x\\graphabcdefabcdef12.log'), marker));
  t.false(namesAnotherRun(event('n', 3, { DestinationPort: '80' }), marker));
});

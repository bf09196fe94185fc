import test from 'ava';
import { fromEcs, fromFlatJson, fromXml } from './normalize.js';

const sysmon = 'Microsoft-Windows-Sysmon/Operational';

test('flat JSON: Hostname becomes Computer, UtcTime (UTC without a zone) the event time', (t) => {
  const outcome = fromFlatJson({
    EventID: '1',
    Channel: sysmon,
    Hostname: 'WS5',
    UtcTime: '2020-10-22 01:54:23.985',
    Image: 'C:\\x\\cmstp.exe',
  });

  t.like(outcome, {
    event: {
      time: '2020-10-22T01:54:23.985Z',
      fields: { EventID: 1, Computer: 'WS5', Image: 'C:\\x\\cmstp.exe' },
    },
  });
});

test('flat JSON without EventID, Channel or time is rejected with a reason', (t) => {
  t.deepEqual(fromFlatJson({ Channel: sysmon, UtcTime: '2020-10-22 01:54:23.985' }), {
    rejected: 'no numeric EventID',
  });
  t.deepEqual(fromFlatJson({ EventID: 1, UtcTime: '2020-10-22 01:54:23.985' }), { rejected: 'no Channel' });
  t.deepEqual(fromFlatJson({ EventID: 1, Channel: sysmon }), {
    rejected: 'no event time (UtcTime, @timestamp or TimeCreated)',
  });
});

test('Windows event XML (wevtutil /f:xml): System and EventData become one flat event', (t) => {
  const xml = `<?xml version="1.0"?><Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Sysmon"/><EventID>1</EventID><TimeCreated SystemTime="2020-10-22T01:54:23.9850000Z"/><Channel>${sysmon}</Channel><Computer>WORKSTATION5</Computer></System><EventData><Data Name="UtcTime">2020-10-22 01:54:23.985</Data><Data Name="Image">C:\\Windows\\System32\\cmstp.exe</Data><Data Name="CommandLine">cmstp.exe /s x.inf /au</Data></EventData></Event>
<Event><System><EventID>13</EventID><Channel>${sysmon}</Channel><Computer>WORKSTATION5</Computer><TimeCreated SystemTime="2020-10-22T01:54:24Z"/></System><EventData><Data Name="TargetObject">HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths\\cmmgr32.exe\\ProfileInstallPath</Data></EventData></Event>`;

  const [first, second] = fromXml(xml);

  t.like(first, {
    event: {
      time: '2020-10-22T01:54:23.985Z',
      fields: {
        EventID: 1,
        Channel: sysmon,
        Computer: 'WORKSTATION5',
        Image: 'C:\\Windows\\System32\\cmstp.exe',
        CommandLine: 'cmstp.exe /s x.inf /au',
        Provider_Name: 'Microsoft-Windows-Sysmon',
      },
    },
  });
  t.like(second, {
    event: {
      fields: {
        EventID: 13,
        TargetObject:
          'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\App Paths\\cmmgr32.exe\\ProfileInstallPath',
      },
    },
  });
});

test('ECS JSON: winlog.event_data is kept, and ECS fields fill in Sysmon names through the field map', (t) => {
  const outcome = fromEcs({
    '@timestamp': '2020-10-22T01:54:23.985Z',
    event: { code: '1' },
    winlog: { channel: sysmon, computer_name: 'WORKSTATION5', event_data: { IntegrityLevel: 'High' } },
    process: {
      executable: 'C:\\Windows\\System32\\cmstp.exe',
      command_line: 'cmstp.exe /s x.inf',
      parent: { executable: 'C:\\x\\powershell.exe' },
    },
  });
  const file = fromEcs({
    '@timestamp': '2020-10-22T01:54:23Z',
    event: { code: '11' },
    winlog: { channel: sysmon },
    host: { name: 'ws5' },
    file: { path: 'C:\\ProgramData\\x.inf' },
  });

  t.like(outcome, {
    event: {
      fields: {
        EventID: 1,
        Computer: 'WORKSTATION5',
        Image: 'C:\\Windows\\System32\\cmstp.exe',
        CommandLine: 'cmstp.exe /s x.inf',
        ParentImage: 'C:\\x\\powershell.exe',
        IntegrityLevel: 'High',
      },
    },
  });
  t.like(file, {
    event: { fields: { EventID: 11, Computer: 'ws5', TargetFilename: 'C:\\ProgramData\\x.inf' } },
  });
  t.false('ImageLoaded' in ('event' in file ? file.event.fields : {}));
});

test('#17 a time without a zone is UTC in every reader, whatever the time zone of the machine running ingest', async (t) => {
  // Run in a process whose local zone is far from UTC: a zoneless time read as local time moves by 5.5 hours.
  const script = `
    const { fromXml, fromFlatJson, fromEcs } = await import(${JSON.stringify(new URL('./normalize.js', import.meta.url).href)});
    const xml = '<Event><System><EventID>4688</EventID><TimeCreated SystemTime="2026-11-23T12:00:00.1234567"/><Channel>Security</Channel><Computer>W</Computer></System></Event>';
    console.log(JSON.stringify([
      fromXml(xml)[0].event.time,
      fromFlatJson({ EventID: 4688, Channel: 'Security', TimeCreated: '2026-11-23 12:00:00' }).event.time,
      fromFlatJson({ EventID: 1, Channel: 'S', UtcTime: '2026-11-23 12:00:00.000' }).event.time,
      fromEcs({ '@timestamp': '2026-11-23T12:00:00', winlog: { channel: 'Security', event_id: 4688 } }).event.time,
      fromFlatJson({ EventID: 4688, Channel: 'Security', TimeCreated: '2026-11-23T12:00:00+01:00' }).event.time,
    ]));`;
  const { execa } = await import('execa');
  const { stdout } = await execa('node', ['--input-type=module', '-e', script], {
    env: { TZ: 'Asia/Kolkata' },
  });

  t.deepEqual(JSON.parse(stdout), [
    '2026-11-23T12:00:00.123Z',
    '2026-11-23T12:00:00.000Z',
    '2026-11-23T12:00:00.000Z',
    '2026-11-23T12:00:00.000Z',
    // A time that says its zone keeps it.
    '2026-11-23T11:00:00.000Z',
  ]);
});

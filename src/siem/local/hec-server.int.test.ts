import test, { type ExecutionContext } from 'ava';
import { startHecServer, splitConcatenatedJson, type HecEnvelope } from './hec-server.js';

const token = '0123456789abcdef0123';

async function server(t: ExecutionContext) {
  const batches: (readonly HecEnvelope[])[] = [];
  const hec = await startHecServer({ token, accept: (envelopes) => batches.push(envelopes) });
  t.teardown(() => hec.close());
  const post = async (body: string, auth?: string) => {
    const response = await fetch(`${hec.url}/services/collector/event`, {
      method: 'POST',
      body,
      headers: auth === undefined ? {} : { Authorization: auth },
    });
    return {
      status: response.status,
      json: (await response.json()) as { code: number; text: string; 'invalid-event-number'?: number },
    };
  };
  return { hec, batches, post };
}

test('a batch of concatenated envelopes is accepted as Splunk would', async (t) => {
  const { batches, post } = await server(t);

  const answer = await post(
    '{"time":1,"host":"a","event":{"EventID":1}}\n{"event":"text {with} braces"} {"event":{"x":"}{"}}',
    `Splunk ${token}`,
  );

  t.deepEqual(answer, { status: 200, json: { text: 'Success', code: 0 } });
  t.is(batches[0]?.length, 3);
});

test('HEC authorization errors use HEC codes', async (t) => {
  const { post, batches } = await server(t);

  t.like(await post('{"event":1}'), { status: 401, json: { code: 2, text: 'Token is required' } });
  t.like(await post('{"event":1}', `Bearer ${token}`), { status: 401, json: { code: 3 } });
  t.like(await post('{"event":1}', 'Splunk wrong-token-wrong-token'), {
    status: 403,
    json: { code: 4, text: 'Invalid token' },
  });
  t.is(batches.length, 0);
});

test('bad data is refused with the invalid event number', async (t) => {
  const { post, batches } = await server(t);
  const auth = `Splunk ${token}`;

  t.like(await post('', auth), { status: 400, json: { code: 5 } });
  t.like(await post('{"event":{"a":1}} {"host":"x"}', auth), {
    status: 400,
    json: { code: 12, 'invalid-event-number': 1 },
  });
  t.like(await post('{"event":""}', auth), { status: 400, json: { code: 13 } });
  t.like(await post('{"event":1} not json', auth), { status: 400, json: { code: 6 } });
  t.is(batches.length, 0);
});

test('health and unknown paths', async (t) => {
  const { hec } = await server(t);

  t.is((await fetch(`${hec.url}/services/collector/health`)).status, 200);
  t.is((await fetch(`${hec.url}/nope`, { method: 'POST' })).status, 404);
});

test('splitConcatenatedJson handles strings, escapes and whitespace', (t) => {
  t.deepEqual(splitConcatenatedJson(' {"a":"}\\"{"}\n\n{"b":[{}]} '), ['{"a":"}\\"{"}', '{"b":[{}]}']);
  t.is(splitConcatenatedJson('{"a":1} x'), null);
  t.is(splitConcatenatedJson('{"a":1'), null);
  t.deepEqual(splitConcatenatedJson('{"a":"\\\\"}{"b":"x\\\\\\"}"}'), ['{"a":"\\\\"}', '{"b":"x\\\\\\"}"}']);
  t.is(splitConcatenatedJson('{"a":"unterminated\\"}'), null);
});

test('splitConcatenatedJson gives back exactly the objects a forwarder concatenated, whatever their strings hold', (t) => {
  const alphabet = ['"', '\\', '{', '}', ' ', 'a', '\u00e9', '\n'];
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let round = 0; round < 200; round += 1) {
    const objects = Array.from({ length: 1 + random(4) }, () =>
      JSON.stringify({
        k: Array.from({ length: random(12) }, () => alphabet[random(alphabet.length)]).join(''),
        n: [{ x: random(9) }],
      }),
    );
    t.deepEqual(splitConcatenatedJson(objects.join(random(2) === 0 ? '' : ' \n')), objects);
  }
});

import test from 'ava';
import { lineChart } from './svg-chart.js';

const chart = (values: (number | null)[], name = 'cmstp-exec') =>
  lineChart({
    title: 'Pass rate',
    labels: values.map((_, i) => `r${String(i)}`),
    series: [{ name, values }],
    yMax: 100,
    format: String,
  });

test('a null breaks the line: two segments, one point each side', (t) => {
  const svg = chart([100, 50, null, 0, 100]);

  t.is(svg.match(/<polyline/g)?.length, 2);
  t.is(svg.match(/<circle/g)?.length, 4);
});

test('names are escaped, and the chart is plain SVG with no script', (t) => {
  const svg = chart([1, 2], '<script>x</script>');

  t.false(svg.includes('<script>'));
  t.true(svg.includes('&lt;script&gt;x&lt;/script&gt;'));
  t.regex(svg, /^<svg class="chart"/);
});

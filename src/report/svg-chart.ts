import { escapeXml } from '../util/escape.js';

export interface Series {
  readonly name: string;
  /** One value per x label; null where there is no value (the line breaks there). */
  readonly values: readonly (number | null)[];
}

/** Distinct on white and for common colour blindness (Okabe-Ito, plus two). */
const palette = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#8c564b'];

/** A dash pattern per series as well as a colour, so lines that lie on top of each other stay tellable. */
const dashes = ['', '7 4', '2 3', '10 3 2 3', '4 4', '1 5', '12 4', '5 2 1 2'];

const round = (n: number): string => String(Math.round(n * 10) / 10);

/** A full chart with a legend, or a small one of a grid (one series, titled by it, no legend). */
const layouts = {
  full: { width: 760, plot: { left: 56, top: 28, width: 520, height: 180 }, legend: true, maxLabels: 10 },
  small: { width: 250, plot: { left: 44, top: 24, width: 190, height: 80 }, legend: false, maxLabels: 3 },
} as const;

/**
 * A small line chart as inline SVG (no script, no fonts fetched): one polyline per series, points marked,
 * a y axis from 0 to `yMax` with `ticks`, x labels under the points and a legend. Pure.
 */
export function lineChart(options: {
  readonly title: string;
  readonly labels: readonly string[];
  readonly series: readonly Series[];
  readonly yMax: number;
  readonly format: (value: number) => string;
  readonly ticks?: number;
  readonly size?: keyof typeof layouts;
}): string {
  const { width, plot, legend, maxLabels } = layouts[options.size ?? 'full'];
  const legendX = plot.left + plot.width + 16;
  const height = Math.max(
    plot.top + plot.height + 28,
    legend ? plot.top + options.series.length * 18 + 8 : 0,
  );
  const n = options.labels.length;
  // Every label when they fit; else every k-th and the last, so they never overprint.
  const labelEvery = Math.max(1, Math.ceil(n / maxLabels));
  // A small chart has no room past its ends: its first and last labels lean inwards, so none is cut off.
  const anchor = (i: number): string =>
    legend || n <= 1 ? 'middle' : i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle';
  const x = (i: number): number => plot.left + (n <= 1 ? plot.width / 2 : (i * plot.width) / (n - 1));
  const yMax = options.yMax > 0 ? options.yMax : 1;
  const y = (v: number): number => plot.top + plot.height - (Math.min(v, yMax) / yMax) * plot.height;
  const ticks = options.ticks ?? 4;
  const parts: string[] = [
    `<svg class="chart" role="img" xmlns="http://www.w3.org/2000/svg" width="${String(width)}" height="${String(height)}" viewBox="0 0 ${String(width)} ${String(height)}">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<text x="${String(plot.left)}" y="16" font-size="13" font-weight="600">${escapeXml(options.title)}</text>`,
  ];
  for (let t = 0; t <= ticks; t += 1) {
    const value = (yMax * t) / ticks;
    parts.push(
      `<line x1="${String(plot.left)}" x2="${String(plot.left + plot.width)}" y1="${round(y(value))}" y2="${round(y(value))}" stroke="#d1d9e0"/>`,
      `<text x="${String(plot.left - 6)}" y="${round(y(value) + 4)}" font-size="11" text-anchor="end">${escapeXml(options.format(value))}</text>`,
    );
  }
  options.labels.forEach((label, i) => {
    if (i % labelEvery !== 0 && i !== n - 1) return;
    parts.push(
      `<text x="${round(x(i))}" y="${String(plot.top + plot.height + 16)}" font-size="10" text-anchor="${anchor(i)}">${escapeXml(label)}</text>`,
    );
  });
  options.series.forEach((series, s) => {
    const colour = palette[s % palette.length] ?? '#000';
    const dash = dashes[s % dashes.length] ?? '';
    const dashed = dash === '' ? '' : ` stroke-dasharray="${dash}"`;
    // Consecutive known values form a segment; a null breaks the line.
    let segment: string[] = [];
    const flush = (): void => {
      if (segment.length > 1)
        parts.push(
          `<polyline fill="none" stroke="${colour}" stroke-width="2"${dashed} points="${segment.join(' ')}"/>`,
        );
      segment = [];
    };
    series.values.forEach((value, i) => {
      if (value === null) {
        flush();
        return;
      }
      segment.push(`${round(x(i))},${round(y(value))}`);
      parts.push(
        `<circle cx="${round(x(i))}" cy="${round(y(value))}" r="3" fill="${colour}"><title>${escapeXml(`${series.name}, ${options.labels[i] ?? ''}: ${options.format(value)}`)}</title></circle>`,
      );
    });
    flush();
    if (!legend) return;
    const ly = plot.top + s * 18;
    parts.push(
      `<line x1="${String(legendX)}" x2="${String(legendX + 24)}" y1="${String(ly + 6)}" y2="${String(ly + 6)}" stroke="${colour}" stroke-width="2"${dashed}/>`,
      `<text x="${String(legendX + 30)}" y="${String(ly + 10)}" font-size="12">${escapeXml(series.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

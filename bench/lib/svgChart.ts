/**
 * A dependency-free SVG scatter chart: points grouped in series, an optional y = x reference line
 * (for "measured against ideal" charts), axis ticks, a legend and per-point labels.
 */

/** One point. */
export interface ChartPoint {
  x: number;
  y: number;
  /** Short text next to the point. */
  label?: string;
}

/** Points drawn in one colour and named in the legend. */
export interface ChartSeries {
  name: string;
  points: ChartPoint[];
  /** CSS colour. @default from a built-in palette */
  color?: string;
}

/** Options for {@link renderScatterSvg}. */
export interface ScatterChartOptions {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  /** Draw the line y = x (labelled `diagonalLabel`). @default false */
  diagonal?: boolean;
  diagonalLabel?: string;
  /** @default 760 */
  widthPx?: number;
  /** @default 520 */
  heightPx?: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b'];

/** Renders the chart as a standalone SVG document. */
export function renderScatterSvg(options: ScatterChartOptions): string {
  const width = options.widthPx ?? 760;
  const height = options.heightPx ?? 520;
  const margin = { left: 72, right: 190, top: options.subtitle ? 70 : 52, bottom: 60 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const all = options.series.flatMap((s) => s.points);
  const maxX = niceCeil(Math.max(1e-9, ...all.map((p) => p.x), ...(options.diagonal ? all.map((p) => p.y) : [])));
  const maxY = niceCeil(Math.max(1e-9, ...all.map((p) => p.y), ...(options.diagonal ? all.map((p) => p.x) : [])));
  const top = options.diagonal ? Math.max(maxX, maxY) : 0;
  const xMax = options.diagonal ? top : maxX;
  const yMax = options.diagonal ? top : maxY;
  const sx = (x: number): number => margin.left + (x / xMax) * plotW;
  const sy = (y: number): number => margin.top + plotH - (y / yMax) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`,
  );
  if (options.subtitle)
    out.push(`<text x="${width / 2}" y="44" text-anchor="middle" fill="#555">${escapeXml(options.subtitle)}</text>`);
  for (const tick of ticks(xMax)) {
    out.push(
      `<line x1="${fmt(sx(tick))}" y1="${margin.top}" x2="${fmt(sx(tick))}" y2="${margin.top + plotH}" stroke="#eee"/>`,
    );
    out.push(`<text x="${fmt(sx(tick))}" y="${margin.top + plotH + 18}" text-anchor="middle">${fmtTick(tick)}</text>`);
  }
  for (const tick of ticks(yMax)) {
    out.push(
      `<line x1="${margin.left}" y1="${fmt(sy(tick))}" x2="${margin.left + plotW}" y2="${fmt(sy(tick))}" stroke="#eee"/>`,
    );
    out.push(`<text x="${margin.left - 8}" y="${fmt(sy(tick) + 4)}" text-anchor="end">${fmtTick(tick)}</text>`);
  }
  out.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  out.push(
    `<text x="${margin.left + plotW / 2}" y="${height - 16}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
  );
  out.push(
    `<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  if (options.diagonal) {
    out.push(
      `<line x1="${fmt(sx(0))}" y1="${fmt(sy(0))}" x2="${fmt(sx(top))}" y2="${fmt(sy(top))}" stroke="#888" stroke-dasharray="6 4"/>`,
    );
    if (options.diagonalLabel) {
      out.push(
        `<text x="${fmt(sx(top * 0.72))}" y="${fmt(sy(top * 0.72) - 8)}" fill="#666" transform="rotate(${fmt((-Math.atan2(plotH, plotW) * 180) / Math.PI)} ${fmt(sx(top * 0.72))} ${fmt(sy(top * 0.72) - 8)})">${escapeXml(options.diagonalLabel)}</text>`,
      );
    }
  }
  options.series.forEach((series, index) => {
    const color = series.color ?? PALETTE[index % PALETTE.length];
    const sorted = [...series.points].sort((a, b) => a.x - b.x);
    if (sorted.length > 1) {
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-opacity="0.5" points="${sorted.map((p) => `${fmt(sx(p.x))},${fmt(sy(p.y))}`).join(' ')}"/>`,
      );
    }
    for (const point of sorted) {
      out.push(`<circle cx="${fmt(sx(point.x))}" cy="${fmt(sy(point.y))}" r="5" fill="${color}"/>`);
      if (point.label)
        out.push(
          `<text x="${fmt(sx(point.x) + 8)}" y="${fmt(sy(point.y) - 6)}" font-size="11" fill="${color}">${escapeXml(point.label)}</text>`,
        );
    }
    const ly = margin.top + 10 + index * 22;
    out.push(`<circle cx="${margin.left + plotW + 22}" cy="${ly}" r="5" fill="${color}"/>`);
    out.push(`<text x="${margin.left + plotW + 34}" y="${ly + 4}">${escapeXml(series.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Escapes text for SVG content and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceCeil(value: number): number {
  const exponent = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (step * exponent >= value) return step * exponent;
  return 10 * exponent;
}

function ticks(max: number): number[] {
  const raw = max / 5;
  const exponent = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * exponent).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = 0; t <= max + step * 1e-9; t += step) out.push(t);
  return out;
}

function fmt(n: number): string {
  return n.toFixed(1);
}

function fmtTick(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** One group of bars (one x position). */
export interface BarGroup {
  /** Label under the group (may contain `\n` for two lines). */
  label: string;
  /** One value per series, in series order. */
  values: number[];
  /** Text above the group. */
  note?: string;
}

/** Options for {@link renderGroupedBarsSvg}. */
export interface GroupedBarsOptions {
  title: string;
  subtitle?: string;
  yLabel: string;
  /** Names (legend) and colours of the bars inside each group. */
  series: Array<{ name: string; color: string }>;
  groups: BarGroup[];
  /** A dashed horizontal reference line. */
  reference?: { value: number; label: string };
  /** @default 860 */
  widthPx?: number;
  /** @default 480 */
  heightPx?: number;
}

/** Renders grouped bars (e.g. measured against ideal for each configuration) as a standalone SVG. */
export function renderGroupedBarsSvg(options: GroupedBarsOptions): string {
  const width = options.widthPx ?? 900;
  const height = options.heightPx ?? 480;
  const margin = { left: 64, right: 20, top: options.subtitle ? 92 : 72, bottom: 64 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const maxValue = niceCeil(Math.max(1e-9, ...options.groups.flatMap((g) => g.values), options.reference?.value ?? 0));
  const sy = (v: number): number => margin.top + plotH - (v / maxValue) * plotH;
  const groupW = plotW / Math.max(1, options.groups.length);
  const barW = Math.min(28, (groupW * 0.7) / Math.max(1, options.series.length));
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`,
  );
  if (options.subtitle)
    out.push(`<text x="${width / 2}" y="44" text-anchor="middle" fill="#555">${escapeXml(options.subtitle)}</text>`);
  let lx = margin.left;
  for (const series of options.series) {
    out.push(`<rect x="${lx}" y="${margin.top - 30}" width="12" height="12" fill="${series.color}"/>`);
    out.push(`<text x="${lx + 18}" y="${margin.top - 20}">${escapeXml(series.name)}</text>`);
    lx += 30 + series.name.length * 6.5;
  }
  if (options.reference) {
    // The reference line is named in the legend, where it cannot overlap a bar or a note.
    out.push(
      `<line x1="${lx}" y1="${margin.top - 24}" x2="${lx + 18}" y2="${margin.top - 24}" stroke="#d62728" stroke-dasharray="6 4" stroke-width="2"/>`,
    );
    out.push(`<text x="${lx + 24}" y="${margin.top - 20}" fill="#d62728">${escapeXml(options.reference.label)}</text>`);
  }
  for (const tick of ticks(maxValue)) {
    out.push(
      `<line x1="${margin.left}" y1="${fmt(sy(tick))}" x2="${margin.left + plotW}" y2="${fmt(sy(tick))}" stroke="#eee"/>`,
    );
    out.push(`<text x="${margin.left - 8}" y="${fmt(sy(tick) + 4)}" text-anchor="end">${fmtTick(tick)}</text>`);
  }
  out.push(
    `<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  if (options.reference) {
    const y = sy(options.reference.value);
    out.push(
      `<line x1="${margin.left}" y1="${fmt(y)}" x2="${margin.left + plotW}" y2="${fmt(y)}" stroke="#d62728" stroke-dasharray="6 4"/>`,
    );
  }
  options.groups.forEach((group, gi) => {
    const x0 = margin.left + gi * groupW + (groupW - barW * group.values.length) / 2;
    group.values.forEach((value, si) => {
      const color = options.series[si]?.color ?? PALETTE[si % PALETTE.length];
      out.push(
        `<rect x="${fmt(x0 + si * barW)}" y="${fmt(sy(value))}" width="${fmt(barW - 2)}" height="${fmt(sy(0) - sy(value))}" fill="${color}"/>`,
      );
    });
    const cx = margin.left + gi * groupW + groupW / 2;
    if (group.note) {
      const top = Math.min(...group.values.map(sy));
      out.push(
        `<text x="${fmt(cx)}" y="${fmt(top - 6)}" text-anchor="middle" font-size="11" fill="#333" stroke="#fff" stroke-width="3" paint-order="stroke">${escapeXml(group.note)}</text>`,
      );
    }
    group.label.split('\n').forEach((line, li) => {
      out.push(
        `<text x="${fmt(cx)}" y="${fmt(margin.top + plotH + 18 + li * 14)}" text-anchor="middle">${escapeXml(line)}</text>`,
      );
    });
  });
  out.push(
    `<line x1="${margin.left}" y1="${fmt(sy(0))}" x2="${margin.left + plotW}" y2="${fmt(sy(0))}" stroke="#333"/>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

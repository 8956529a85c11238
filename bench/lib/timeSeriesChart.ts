/**
 * A dependency-free SVG chart of time series: panels stacked on one shared time axis, each with its own
 * y axis, lines (optionally dashed) and a legend. Used by the throttle bench (docs/figures/throttle.svg).
 */
import { escapeXml } from './svgChart';

/** One line. */
export interface TimeSeries {
  name: string;
  color: string;
  /** x in seconds, y in the panel's unit. */
  points: Array<{ x: number; y: number }>;
  dashed?: boolean;
  /** Draw steps (value held until the next point) instead of straight segments. @default true */
  steps?: boolean;
}

/** One panel. */
export interface TimePanel {
  title: string;
  yLabel: string;
  series: TimeSeries[];
}

/** Renders the panels as a standalone SVG document. */
export function renderTimeSeriesSvg(options: {
  title: string;
  subtitle?: string;
  xLabel: string;
  panels: TimePanel[];
  widthPx?: number;
  panelHeightPx?: number;
}): string {
  const width = options.widthPx ?? 900;
  const panelH = options.panelHeightPx ?? 220;
  const margin = { left: 64, right: 230, top: options.subtitle ? 70 : 50, bottom: 50, gap: 46 };
  const plotW = width - margin.left - margin.right;
  const height = margin.top + options.panels.length * (panelH + margin.gap) - margin.gap + margin.bottom;
  const allX = options.panels.flatMap((p) => p.series.flatMap((s) => s.points.map((pt) => pt.x)));
  const xMax = niceCeil(Math.max(1, ...allX));
  const sx = (x: number) => margin.left + (x / xMax) * plotW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
  if (options.subtitle)
    out.push(`<text x="${width / 2}" y="44" text-anchor="middle" fill="#555">${escapeXml(options.subtitle)}</text>`);
  options.panels.forEach((panel, index) => {
    const top = margin.top + index * (panelH + margin.gap);
    const yMax = niceCeil(Math.max(1e-9, ...panel.series.flatMap((s) => s.points.map((p) => p.y))));
    const sy = (y: number) => top + panelH - (y / yMax) * panelH;
    out.push(`<text x="${margin.left}" y="${top - 8}" font-weight="bold">${escapeXml(panel.title)}</text>`);
    for (const tick of ticks(yMax)) {
      out.push(
        `<line x1="${margin.left}" y1="${fmt(sy(tick))}" x2="${margin.left + plotW}" y2="${fmt(sy(tick))}" stroke="#eee"/>`,
      );
      out.push(`<text x="${margin.left - 6}" y="${fmt(sy(tick) + 4)}" text-anchor="end">${fmtTick(tick)}</text>`);
    }
    for (const tick of ticks(xMax)) {
      out.push(`<line x1="${fmt(sx(tick))}" y1="${top}" x2="${fmt(sx(tick))}" y2="${top + panelH}" stroke="#f3f3f3"/>`);
      out.push(`<text x="${fmt(sx(tick))}" y="${top + panelH + 15}" text-anchor="middle">${fmtTick(tick)}</text>`);
    }
    out.push(`<rect x="${margin.left}" y="${top}" width="${plotW}" height="${panelH}" fill="none" stroke="#333"/>`);
    out.push(
      `<text transform="translate(16 ${top + panelH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(panel.yLabel)}</text>`,
    );
    panel.series.forEach((series, i) => {
      const pts = [...series.points].sort((a, b) => a.x - b.x);
      const coords: string[] = [];
      pts.forEach((p, j) => {
        if (series.steps !== false && j > 0) coords.push(`${fmt(sx(p.x))},${fmt(sy(pts[j - 1].y))}`);
        coords.push(`${fmt(sx(p.x))},${fmt(sy(p.y))}`);
      });
      out.push(
        `<polyline fill="none" stroke="${series.color}" stroke-width="1.6"${series.dashed ? ' stroke-dasharray="6 4"' : ''} points="${coords.join(' ')}"/>`,
      );
      const ly = top + 14 + i * 18;
      const lx = margin.left + plotW + 14;
      out.push(
        `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      );
      out.push(`<text x="${lx + 28}" y="${ly}">${escapeXml(series.name)}</text>`);
    });
  });
  out.push(
    `<text x="${margin.left + plotW / 2}" y="${height - 14}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
  );
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function niceCeil(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function ticks(max: number): number[] {
  const step = max / 5;
  return Array.from({ length: 6 }, (_, i) => i * step);
}

function fmt(n: number): string {
  return n.toFixed(1);
}

function fmtTick(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/**
 * The console's charts, drawn with uPlot: referrals per day by outcome (stacked bars), Microsoft's answers
 * and its response times. Each figure also carries its numbers in `data-chart-data` and in a table, for
 * screen readers and for the browser tests.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { ConsoleSummary } from './api';
import { html } from './html';

const OUTCOMES = [
  { key: 'completed', label: 'Completed', color: '#2f7d32' },
  { key: 'linked', label: 'Linked', color: '#1565c0' },
  { key: 'rejected', label: 'Refused', color: '#c62828' },
  { key: 'parked', label: 'Waiting for re-consent', color: '#ef6c00' },
  { key: 'inProgress', label: 'In progress', color: '#757575' },
] as const;

const ANSWERS = [
  { key: 'accepted', label: 'Accepted', short: 'Acc.', color: '#2f7d32' },
  { key: 'declined', label: 'Declined', short: 'Decl.', color: '#c62828' },
  { key: 'expired', label: 'Expired', short: 'Exp.', color: '#6d4c41' },
  { key: 'waiting', label: 'Waiting', short: 'Wait.', color: '#9e9e9e' },
] as const;

/** A uPlot chart that follows its container's width. */
function Plot(props: { options: Omit<uPlot.Options, 'width' | 'height'>; data: uPlot.AlignedData; height: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return undefined;
    const plot = new uPlot(
      { ...props.options, width: element.clientWidth || 300, height: props.height },
      props.data,
      element,
    );
    const observer = new ResizeObserver(() =>
      plot.setSize({ width: element.clientWidth || 300, height: props.height }),
    );
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [props.options, props.data, props.height]);
  return html`<div class="plot" ref=${box} aria-hidden="true"></div>`;
}

const bars = uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 48] }) : undefined;

/** Referrals per creation day, stacked by outcome. */
export function PerDayChart(props: { summary: ConsoleSummary }) {
  const { days } = props.summary;
  const xs = days.map((_, i) => i);
  // Stacked: each series is drawn from 0 to the sum of itself and the ones above it in the legend.
  // Drawn in this order, each over the one before: the last (smallest) sum ends up at the bottom of the stack.
  const stacked = OUTCOMES.map((_, index) =>
    days.map((d) => OUTCOMES.slice(index).reduce((sum, o) => sum + (d.outcomes[o.key] ?? 0), 0)),
  );
  const series = OUTCOMES;
  const step = Math.max(1, Math.ceil(days.length / 7));
  const options: Omit<uPlot.Options, 'width' | 'height'> = {
    scales: {
      x: { time: false, range: [-0.6, Math.max(0, days.length - 0.4)] },
      y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
    },
    axes: [
      {
        splits: () => xs,
        values: (_u, splits) =>
          splits.map((s) => (s % step === (days.length - 1) % step && days[s] ? days[s].day.slice(5) : '')),
      },
      { values: (_u, splits) => splits.map((s) => (Number.isInteger(s) ? String(s) : '')) },
    ],
    legend: { show: true, live: false },
    series: [
      { label: 'Day' },
      ...series.map((o) => ({
        label: o.label,
        fill: o.color,
        stroke: o.color,
        width: 0,
        ...(bars ? { paths: bars } : {}),
        points: { show: false },
      })),
    ],
    cursor: { show: false },
  };
  const data: uPlot.AlignedData = [xs, ...stacked];
  return html`<figure class="chart" data-chart="per-day" data-chart-data=${JSON.stringify(days)}>
    <figcaption>Referrals per day by outcome (last ${days.length} days)</figcaption>
    <${Plot} options=${options} data=${data} height=${220} />
    <details>
      <summary>Numbers</summary>
      <table class="data">
        <thead>
          <tr>
            <th scope="col">Day</th>
            ${OUTCOMES.map((o) => html`<th scope="col">${o.label}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${days
            .filter((d) => d.total > 0)
            .map(
              (d) =>
                html`<tr>
                  <th scope="row">${d.day}</th>
                  ${OUTCOMES.map((o) => html`<td>${d.outcomes[o.key] ?? 0}</td>`)}
                </tr>`,
            )}
        </tbody>
      </table>
    </details>
  </figure>`;
}

/** Microsoft's answers to co-sell requests. */
export function AnswersChart(props: { summary: ConsoleSummary }) {
  const { answers } = props.summary;
  const xs = ANSWERS.map((_, i) => i);
  // One series per answer (its value at its own x, nothing elsewhere), so each bar has its answer's colour.
  const values = ANSWERS.map((a, i) => xs.map((x) => (x === i ? answers[a.key] : null)));
  const options: Omit<uPlot.Options, 'width' | 'height'> = {
    scales: {
      x: { time: false, range: [-0.6, ANSWERS.length - 0.4] },
      y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
    },
    axes: [
      { splits: () => ANSWERS.map((_, i) => i), values: (_u, splits) => splits.map((s) => ANSWERS[s]?.short ?? '') },
      { values: (_u, splits) => splits.map((s) => (Number.isInteger(s) ? String(s) : '')) },
    ],
    legend: { show: false },
    series: [
      {},
      ...ANSWERS.map((a) => ({
        label: a.label,
        fill: a.color,
        stroke: a.color,
        width: 0,
        ...(bars ? { paths: bars } : {}),
        points: { show: false },
      })),
    ],
    cursor: { show: false },
  };
  return html`<figure class="chart" data-chart="answers" data-chart-data=${JSON.stringify(answers)}>
    <figcaption>Microsoft's answers to co-sell requests</figcaption>
    <${Plot} options=${options} data=${[xs, ...values] as uPlot.AlignedData} height=${180} />
    <ul class="legend-inline">
      ${ANSWERS.map((a) => html`<li><span class="swatch ${a.key}"></span>${a.label}: <strong>${answers[a.key]}</strong></li>`)}
    </ul>
  </figure>`;
}

/** Days Microsoft took to answer. */
export function ResponseTimeChart(props: { summary: ConsoleSummary }) {
  const { responseTimes } = props.summary;
  const options: Omit<uPlot.Options, 'width' | 'height'> = {
    scales: {
      x: { time: false, range: [-0.6, responseTimes.histogram.length - 0.4] },
      y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
    },
    axes: [
      {
        splits: () => responseTimes.histogram.map((b) => b.fromDays),
        values: (_u, splits) => splits.map((s) => (s % 2 === 0 ? (s >= 14 ? '14+' : String(s)) : '')),
        label: 'days to answer',
      },
      { values: (_u, splits) => splits.map((s) => (Number.isInteger(s) ? String(s) : '')) },
    ],
    legend: { show: false },
    series: [
      {},
      {
        label: 'Answers',
        fill: '#6a1b9a',
        stroke: '#6a1b9a',
        width: 0,
        ...(bars ? { paths: bars } : {}),
        points: { show: false },
      },
    ],
    cursor: { show: false },
  };
  const data: uPlot.AlignedData = [
    responseTimes.histogram.map((b) => b.fromDays),
    responseTimes.histogram.map((b) => b.count),
  ];
  return html`<figure class="chart" data-chart="response-time" data-chart-data=${JSON.stringify(responseTimes)}>
    <figcaption>
      Microsoft's response
      time${responseTimes.medianHours !== undefined ? ` (median ${(responseTimes.medianHours / 24).toFixed(1)} days)` : ''}
    </figcaption>
    ${
      responseTimes.count === 0
        ? html`<p class="empty">
            No answers recorded yet: Microsoft's answers are recorded once the bridge receives its events.
          </p>`
        : html`<${Plot} options=${options} data=${data} height=${180} />`
    }
  </figure>`;
}

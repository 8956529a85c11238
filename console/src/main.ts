/**
 * The operations console: a hash-routed single page (`#/?filters`, `#/deal/<trackingId>`) over the app's
 * own API. Bundled by scripts/build-console.ts into dist/console; nothing is loaded from elsewhere.
 */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { getStatus, getSummary, type ConsoleStatus, type ConsoleSummary } from './api';
import { AnswersChart, PerDayChart, ResponseTimeChart } from './charts';
import { DealPage } from './deal';
import { html } from './html';
import { FILTER_NAMES, PipelineList, type Filters } from './list';
import { HealthLine, QueueCards, ReconsentBanner } from './status';

type Route = { page: 'list'; filters: Filters } | { page: 'deal'; trackingId: string };

function routeOf(hash: string): Route {
  const deal = /^#\/deal\/(r[0-9a-f]{31})$/.exec(hash);
  if (deal) return { page: 'deal', trackingId: deal[1] };
  const query = new URLSearchParams(hash.replace(/^#\/?\??/, ''));
  const filters: Filters = {};
  for (const name of FILTER_NAMES) {
    const value = query.get(name);
    if (value) filters[name] = value;
  }
  return { page: 'list', filters };
}

function App() {
  const [route, setRoute] = useState<Route>(routeOf(location.hash));
  const [status, setStatus] = useState<ConsoleStatus | undefined>(undefined);
  const [summary, setSummary] = useState<ConsoleSummary | undefined>(undefined);
  const [problem, setProblem] = useState('');
  const refresh = useCallback(() => {
    getStatus().then(setStatus, (e: Error) => setProblem(`Status: ${e.message}`));
    getSummary(14).then(setSummary, (e: Error) => setProblem(`Summary: ${e.message}`));
  }, []);
  useEffect(() => {
    const onHash = () => setRoute(routeOf(location.hash));
    window.addEventListener('hashchange', onHash);
    refresh();
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const apply = (filters: Filters) => {
    location.hash = `#/?${new URLSearchParams(filters).toString()}`;
  };
  return html`<header class="top">
      <h1><a href="#/">Co-sell referral bridge</a></h1>
      ${status ? html`<${HealthLine} status=${status} />` : ''}
      <button type="button" class="secondary" onClick=${refresh}>Refresh</button>
    </header>
    <main id="main" tabindex="-1">
      ${problem ? html`<p class="error" role="alert">${problem}</p>` : ''}
      ${status ? html`<${ReconsentBanner} status=${status} />` : ''}
      ${
        route.page === 'deal'
          ? html`<${DealPage} trackingId=${route.trackingId} status=${status} />`
          : html`<div class="grid">
                <div class="charts" data-testid="charts">
                  ${summary ? html`<${PerDayChart} summary=${summary} /><${AnswersChart} summary=${summary} /><${ResponseTimeChart} summary=${summary} />` : html`<p class="loading">Loading charts…</p>`}
                </div>
                ${status ? html`<${QueueCards} status=${status} onChanged=${refresh} />` : ''}
              </div>
              <${PipelineList} filters=${route.filters} onApply=${apply} />`
      }
    </main>`;
}

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(html`<${App} />`, root);
}

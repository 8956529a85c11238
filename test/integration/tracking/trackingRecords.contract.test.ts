/**
 * The Table store keeps the TrackingRecords contract on Azurite (the same suite runs against the
 * in-memory store). A lost answer is real: an `httpClient` injected into the TableClient lets the request
 * reach Azurite, then fails it with ECONNRESET, and the SDK's own retry policy sends it again.
 */
import { TableClient } from '@azure/data-tables';
import {
  RestError,
  createDefaultHttpClient,
  type HttpClient,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { TrackingStore } from '../../../shared/tracking/trackingStore';
import { useAzurite } from '../../helpers/azurite';
import { describeTrackingRecordsContract } from '../../helpers/trackingRecordsContract';

const azurite = useAzurite();

/** Forwards requests; the next one of the armed kind reaches the service and then loses its answer. */
class LosingHttpClient implements HttpClient {
  readonly #inner = createDefaultHttpClient();
  armed: 'insert' | 'replace' | undefined;

  async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    const response = await this.#inner.sendRequest(request);
    const kind = request.method === 'POST' ? 'insert' : request.method === 'PUT' ? 'replace' : undefined;
    if (kind !== undefined && kind === this.armed) {
      this.armed = undefined;
      if (response.status < 300) throw new RestError('socket hang up', { code: 'ECONNRESET', request });
    }
    return response;
  }
}

describeTrackingRecordsContract('Table Storage (Azurite)', async () => {
  await azurite.ready;
  let clockMs = 1_700_000_000_000;
  const httpClient = new LosingHttpClient();
  const table = TableClient.fromConnectionString(azurite.connectionString, 'contracttest', {
    allowInsecureConnection: true,
    httpClient,
    retryOptions: { retryDelayInMs: 5, maxRetryDelayInMs: 20 },
  });
  const records = new TrackingStore({ table, nowMs: () => clockMs });
  await records.ensureTable();
  return {
    records,
    advanceClockMs: (ms) => (clockMs += ms),
    nowMs: () => clockMs,
    loseNextAnswer: (operation) => (httpClient.armed = operation),
  };
});

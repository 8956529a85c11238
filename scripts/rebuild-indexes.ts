/**
 * `npm run index:rebuild [-- --dry-run] [--settings <local.settings.json>]`: gives the records written before
 * the indexes existed (or whose entries were lost in a way the store's rules do not cover) what the store
 * and the list would have written for them (docs/architecture.md, "Rebuilding the indexes"):
 * - an open-work entry for every record with open work the sweeper cannot find (in its `open-*` partition);
 * - a retention entry for every closed record (upsert: a second run writes the same rows);
 * - the referral-id rows (`pc-<id>`) of the Partner Center and Microsoft referral ids a record names;
 * - the list entry of every record (inserted when absent: a newer projection is never overwritten).
 *
 * COST: one TABLE SCAN of the `referrals` table (`RowKey eq 'record'`: every entity examined, one billed
 * transaction per continuation page), the partitions the sweeper reads, and per record about 1 + (ids it
 * names) writes (retention entries batched by 100). An operator's one-off, never run by the app. Safe while
 * the app runs: every write is an insert-if-absent, an idempotent upsert, or a fresh open-work entry.
 *
 * The storage connection is the app's own: `AzureWebJobsStorage` (a connection string, Azurite locally) or
 * the identity-based `AzureWebJobsStorage__tableServiceUri` / `__accountName` (with `__clientId` for a
 * user-assigned identity; otherwise `az login` through DefaultAzureCredential), and `REFERRALS_TABLE_NAME`
 * (default `referrals`), from the environment, else from local.settings.json `Values`. It prints counts only.
 */
import path from 'node:path';
import type { TokenCredential } from '@azure/core-auth';
import type * as DataTablesModule from '@azure/data-tables';
import type * as IdentityModule from '@azure/identity';
import { CreationClock } from '../shared/listing/creationClock';
import {
  IndexedTrackingRecords,
  listEntryRowsOf,
  type IndexRebuildReport,
} from '../shared/listing/indexedTrackingRecords';
import { ReferralIndex } from '../shared/listing/referralIndex';
import { ensureError } from '../shared/platform/errors';
import { lazyModule } from '../shared/platform/lazy';
import { TrackingStore } from '../shared/tracking/trackingStore';
import { STORAGE_CONNECTION_SETTING } from '../shared/workflow/constants';
import { definedOnly, readLocalSettings } from './lib/localSettings';

const dataTables = lazyModule<typeof DataTablesModule>(require, '@azure/data-tables');
const identitySdk = lazyModule<typeof IdentityModule>(require, '@azure/identity');

/** Default of `REFERRALS_TABLE_NAME` (shared/platform/config.ts). */
const DEFAULT_REFERRALS_TABLE = 'referrals';

/** Options of {@link rebuildIndexesCommand} (tests pass their own environment, folder and output). */
export interface RebuildCommandOptions {
  argv?: readonly string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  print?: (line: string) => void;
  printError?: (line: string) => void;
  /** A credential for identity-based storage (tests); else DefaultAzureCredential. */
  credential?: TokenCredential;
}

/** The printed JSON: the rebuild's counts and where it ran. */
export interface RebuildCommandReport extends IndexRebuildReport {
  table: string;
  dryRun: boolean;
}

const USAGE = 'Usage: node dist/scripts/rebuild-indexes.js [--dry-run] [--settings <local.settings.json>]';

/** Runs the command; returns the process exit code (0 done, 1 failed, 2 usage). */
export async function rebuildIndexesCommand(options: RebuildCommandOptions = {}): Promise<number> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const printError = options.printError ?? ((line: string) => process.stderr.write(`${line}\n`));
  const argv = options.argv ?? process.argv.slice(2);
  let dryRun = false;
  let settingsFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--dry-run') dryRun = true;
    else if (argv[i] === '--settings' && argv[i + 1]) settingsFile = argv[++i];
    else {
      printError(`Unknown argument ${JSON.stringify(argv[i])}\n${USAGE}`);
      return 2;
    }
  }
  const cwd = options.cwd ?? process.cwd();
  const env = definedOnly(options.env ?? process.env);
  const fromEnv = Object.keys(env).some((name) => name.startsWith(STORAGE_CONNECTION_SETTING));
  const values = fromEnv
    ? env
    : { ...readLocalSettings(path.resolve(cwd, settingsFile ?? 'local.settings.json')), ...env };
  const tableName = values.REFERRALS_TABLE_NAME?.trim() || DEFAULT_REFERRALS_TABLE;
  const table = tableClientFor(values, tableName, options.credential);
  if (!table) {
    printError(`No storage connection: set ${STORAGE_CONNECTION_SETTING} (or __tableServiceUri / __accountName)`);
    return 1;
  }
  try {
    const store = new TrackingStore({ table, companionsOf: listEntryRowsOf });
    const records = new IndexedTrackingRecords({
      records: store,
      index: new ReferralIndex({ table }),
      clock: new CreationClock(),
    });
    const report = await records.rebuildIndexes({ dryRun });
    const out: RebuildCommandReport = { table: tableName, dryRun, ...report };
    print(JSON.stringify(out));
    return 0;
  } catch (thrown) {
    const error = ensureError(thrown);
    printError(`Rebuild failed (run it again: every write is idempotent): ${error.name}: ${error.message}`);
    return 1;
  }
}

/** A TableClient from the app's storage settings, or undefined when none is set. */
function tableClientFor(
  values: Record<string, string | undefined>,
  tableName: string,
  credential: TokenCredential | undefined,
): DataTablesModule.TableClient | undefined {
  const { TableClient: Client } = dataTables();
  const prefix = STORAGE_CONNECTION_SETTING;
  const connectionString = values[prefix]?.trim();
  if (connectionString)
    return Client.fromConnectionString(connectionString, tableName, { allowInsecureConnection: true });
  const accountName = values[`${prefix}__accountName`]?.trim();
  const url =
    values[`${prefix}__tableServiceUri`]?.trim() ||
    (accountName ? `https://${accountName}.table.core.windows.net` : undefined);
  if (!url) return undefined;
  const clientId = values[`${prefix}__clientId`]?.trim();
  const identity =
    credential ?? new (identitySdk().DefaultAzureCredential)(clientId ? { managedIdentityClientId: clientId } : {});
  return new Client(url, tableName, identity);
}

if (require.main === module) {
  void rebuildIndexesCommand().then((code) => {
    process.exitCode = code;
  });
}

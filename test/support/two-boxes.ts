// Two boxes on one real PostgreSQL for the multi-box e2e tests (issue 19): each a whole harness (its own state
// dir, tmux socket, stand-in API and config) with store.backend: postgres and its box.name, the database URL
// in its environment (CF_TEST_PG_URL, named by store.postgres_url_env). The tests skip when PostgreSQL is not
// installed, and fail under CI (where it must be).
import { makeHarness, type Harness, type HarnessOptions } from "./harness.js";
import { postgresGate } from "./postgres.js";

export { postgresGate };

/** The env var the boxes' configs name for the PostgreSQL URL. */
export const PG_URL_ENV = "CF_TEST_PG_URL";

/** The config keys that put a box on the shared store under `name`. */
export const pgBoxConfig = (name: string) => ({
  store: { backend: "postgres", postgres_url_env: PG_URL_ENV },
  box: { name },
});

/**
 * Two harnesses on the database at `url`, named `names`; `opts[i].config` is merged over the store keys.
 * The daemons are not started (the caller starts them, in process or as children).
 */
export async function twoBoxHarnesses(
  url: string,
  names: [string, string],
  opts: [HarnessOptions, HarnessOptions],
): Promise<[Harness, Harness]> {
  const out: Harness[] = [];
  try {
    for (const i of [0, 1] as const) {
      const h = await makeHarness({ ...opts[i], config: { ...pgBoxConfig(names[i]), ...(opts[i].config ?? {}) } });
      h.env[PG_URL_ENV] = url;
      out.push(h);
    }
  } catch (e) {
    for (const h of out) await h.cleanup();
    throw e;
  }
  return [out[0]!, out[1]!];
}

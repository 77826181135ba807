// The CLI side of `accounts add NAME` / `accounts remove NAME` (the work is in ops/accounts-commands.ts).
import { runAccountsAdd, runAccountsRemove } from "../ops/accounts-commands.js";
import { ExitError } from "../ops/cli-config.js";
import type { CliIo } from "./io.js";

export interface AccountsCliOptions {
  json?: boolean;
  home?: string;
  priority?: string;
  login?: boolean;
}

export async function accountsEdit(
  io: CliIo,
  flag: string | undefined,
  action: "add" | "remove",
  name: string,
  o: AccountsCliOptions,
): Promise<void> {
  if (action === "remove") return runAccountsRemove(flag, name, {}, io);
  const priority = o.priority === undefined ? undefined : Number(o.priority);
  if (priority !== undefined && !(Number.isInteger(priority) && priority >= 0))
    throw new ExitError(2, `--priority ${o.priority}: must be a whole number, 0 or more`);
  // --login before --no-login: commander leaves it undefined when neither is given (then: ask on a terminal).
  const login = o.login;
  await runAccountsAdd(
    flag,
    name,
    {
      ...(o.home !== undefined ? { home: o.home } : {}),
      ...(priority !== undefined ? { priority } : {}),
      ...(login !== undefined ? { login } : {}),
      stdin: process.stdin,
      term: process.stdout.isTTY ? process.stdout : undefined,
    },
    io,
  );
}

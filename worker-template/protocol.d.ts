// The runner ⇄ harness contract, generated from src/sandbox/{program,protocol}.rs by
// tests/protocol_types.rs. Do not edit: regenerate with
// `UPDATE_SNAPSHOTS=1 cargo test --test protocol_types`.

/** "What the runner asks the harness to run: `run(request)` on its entrypoint." */
export type RunRequest = {
  /** "Parameter names of the program's wrapper function, in order: `console`, then each\nnamespace. The harness passes its console and namespace objects in this order." */
  bindings: string[];
  /** "Namespace → the names of its functions." */
  namespaces: {
    [key: string]: string[];
  };
  /** "Namespace → why it has no functions: any function of it the program calls throws this." */
  unavailable: {
    [key: string]: UnavailableNamespace;
  };
  /**
   * "Wall-clock budget of one execution, in milliseconds."
   * @format uint32
   * @minimum 0
   * @default 30000
   */
  timeoutMs: number;
  /**
   * "CPU budget handed to the Worker Loader; enforced in production, not by local workerd."
   * @format uint32
   * @minimum 0
   * @default 30000
   */
  cpuMs: number;
  /**
   * "Subrequests the isolate may make (its tool calls are RPC subrequests)."
   * @format uint32
   * @minimum 0
   * @default 1000
   */
  subRequests: number;
  /**
   * "Loop iterations plus function calls the program may make before it is stopped."
   * @format uint64
   * @minimum 0
   * @default 10000000
   */
  maxLoopIterations: number;
  /**
   * "Tool calls one execution may make."
   * @format uint32
   * @minimum 0
   * @default 1000
   */
  maxToolCalls: number;
  /**
   * "Tool calls one execution may have in flight at once."
   * @format uint32
   * @minimum 0
   * @default 32
   */
  maxConcurrentToolCalls: number;
  /**
   * "Largest accepted `code` argument, in bytes."
   * @format uint
   * @minimum 0
   * @default 65536
   */
  maxCodeBytes: number;
  /**
   * "Largest arguments of one tool call, as JSON bytes."
   * @format uint
   * @minimum 0
   * @default 262144
   */
  maxArgumentBytes: number;
  /**
   * "Characters of the result's JSON the runner reads from the isolate; the rest is never\nsent, and the result is shown as the start of its text."
   * @format uint
   * @minimum 0
   * @default 12000000
   */
  maxResultChars: number;
  /**
   * "Estimated tokens of the result returned to the agent: a larger one is cut to fit,\nkeeping its structure, with a note saying what was cut."
   * @format uint
   * @minimum 0
   * @default 18000
   */
  maxResultTokens: number;
  /**
   * "Estimated tokens of one `search` answer: the best matches that fit, saying how many\nmore there are."
   * @format uint
   * @minimum 0
   * @default 8000
   */
  maxSearchTokens: number;
  /**
   * "Console entries kept per execution; later ones are counted, not kept."
   * @format uint
   * @minimum 0
   * @default 200
   */
  maxLogEntries: number;
  /**
   * "Characters kept of one console entry."
   * @format uint
   * @minimum 0
   * @default 2000
   */
  maxLogEntryChars: number;
  /**
   * "Estimated tokens of all the console entries the agent gets; later entries are counted,\nnot kept."
   * @format uint
   * @minimum 0
   * @default 4000
   */
  maxLogTokens: number;
  /**
   * "How long a call waits for a person's approval before it is declined; the wait does not\ncount toward `timeoutMs`."
   * @format uint32
   * @minimum 0
   * @default 120000
   */
  approvalTimeoutMs: number;
};

/** "What the harness reports when the program ends." */
export type Outcome = {
  /**
   * "When the harness started the program, by the isolate's clock (milliseconds since the\nUnix epoch): how long the isolate took to start is measured up to here."
   * @format uint64
   * @minimum 0
   * @default null
   */
  startedAtMs?: number | null;
  /**
   * "The program's return value as JSON text (`undefined` gives none)."
   * @default null
   */
  resultJson?: string | null;
  /**
   * "The full length of the result's JSON when the harness cut it to the limit."
   * @format uint
   * @minimum 0
   * @default null
   */
  resultChars?: number | null;
  /**
   * "Console output, in order."
   * @default []
   */
  logs?: string[];
  /**
   * "Console entries dropped past the limit."
   * @format uint
   * @minimum 0
   * @default 0
   */
  droppedLogs?: number;
  /**
   * "Why the program failed, if it did."
   * @default null
   */
  error?: ThrownError | null;
  /**
   * "Whether the loop guard's step budget ran out (the program may have thrown something\nelse after catching its error)."
   * @default false
   */
  loopLimitHit?: boolean;
};

/** "The answer to one tool call made through the bridge." */
export type BridgeReply = {
  status: "ok";
  /** "The value the call resolves to." */
  value: unknown;
} | {
  status: "error";
  /** "The failure class." */
  kind: ToolErrorKind;
  /** "Why, in one line; the harness puts the function's name in front." */
  message: string;
};

/** "A value the program threw (or a rejection it did not handle)." */
type ThrownError = {
  /** "The error's `name` (`TypeError`, `UpstreamToolError`, …)." */
  name: string;
  /** "Its message." */
  message: string;
  /**
   * "Its stack, used to find the line in the user's code."
   * @default null
   */
  stack?: string | null;
};
/** "Why a tool call from the sandbox failed; each becomes the `name` of the thrown `Error`, so a\nprogram (and the model reading its result) can tell them apart." */
type ToolErrorKind = "UpstreamToolError" | "UpstreamRpcError" | "UpstreamTimeout" | "UpstreamUnreachable" | "UpstreamHttpError" | "UpstreamProtocolError" | "UpstreamSessionExpired" | "UpstreamResultTooLarge" | "UpstreamMisconfigured" | "NotPermitted" | "InvalidArguments" | "Cancelled" | "LimitExceeded" | "AuthorizationRequired" | "ApprovalRequired" | "ApprovalDeclined" | "ResumeDiverged";
/** "Why a namespace has no functions, as a call to one of them fails." */
type UnavailableNamespace = {
  /** "The error's class." */
  kind: ToolErrorKind;
  /** "Why, in one line (the harness puts the function's name in front)." */
  message: string;
};

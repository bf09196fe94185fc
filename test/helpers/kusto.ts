import { createRequire } from 'node:module';

/**
 * Microsoft's own Kusto parser and binder (`@kusto/language-service-next`, the engine behind the query
 * editors of Azure Data Explorer and Log Analytics), loaded as the Bridge.NET bundle it ships: it defines the
 * global `Kusto` namespace. Only the few members the tests use are typed here.
 */
interface Diagnostic {
  readonly Severity: string;
  readonly Message: string;
  readonly Start: number;
}
interface BridgeNode {
  readonly Kind: number;
  readonly ChildCount: number;
  GetChild(index: number): BridgeNode | null;
  toString(): string;
  readonly LiteralValue?: unknown;
}
interface KustoLanguage {
  readonly Syntax: { readonly SyntaxKind: Readonly<Record<string, number>> };
  readonly Symbols: {
    readonly TableSymbol: {
      $ctor7: new (name: string, schema: string, description: string | null) => unknown;
    };
    readonly FunctionSymbol: {
      $ctor12: new (name: string, body: string, tabularity: unknown, parameters: unknown[]) => unknown;
    };
    readonly Tabularity: { readonly Tabular: unknown };
    readonly DatabaseSymbol: { ctor: new (name: string, members: unknown[]) => unknown };
  };
  readonly GlobalState: { readonly Default: { WithDatabase(database: unknown): unknown } };
  readonly KustoCode: {
    Parse(text: string): { readonly Syntax: BridgeNode };
    ParseAndAnalyze(
      text: string,
      globals: unknown,
    ): {
      GetDiagnostics(): { readonly Count: number; getItem(index: number): Diagnostic };
      readonly Syntax: BridgeNode;
      readonly ResultType: {
        readonly Columns?: {
          readonly Count: number;
          getItem(index: number): { readonly Name: string; readonly Type: { readonly Name: string } };
        };
      } | null;
    };
  };
}

let language: KustoLanguage | null = null;

function kusto(): KustoLanguage {
  if (language === null) {
    const require = createRequire(import.meta.url);
    require('@kusto/language-service-next/bridge.js');
    require('@kusto/language-service-next/Kusto.Language.Bridge.js');
    language = (globalThis as unknown as { Kusto: { Language: KustoLanguage } }).Kusto.Language;
  }
  return language;
}

/** A workspace as the binder sees it: tables with `(Column:type, ...)` schemas and tabular functions. */
export interface KustoWorkspace {
  readonly tables: Readonly<Record<string, string>>;
  /** Functions by name, each with its body (e.g. a `datatable(...)[]` standing for a parser's output). */
  readonly functions: Readonly<Record<string, string>>;
}

const globalsCache = new WeakMap<KustoWorkspace, unknown>();
type Analysis = ReturnType<KustoLanguage['KustoCode']['ParseAndAnalyze']>;
const analysisCache = new WeakMap<KustoWorkspace, Map<string, Analysis>>();

/**
 * The text the binder is asked about, with every datetime literal set to one instant. A poll sends the
 * same query again and again with its window moved on; what the binder says (its diagnostics, a result's
 * columns and their types) does not depend on a literal's value, only on its type, so one analysis serves
 * them all. Positions stay valid: every ISO-8601 instant the connector writes has the same length.
 */
function bindingShape(text: string): string {
  return text.replace(
    /datetime\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\)/g,
    'datetime(2000-01-01T00:00:00.000Z)',
  );
}

/** Microsoft's analysis of `text` in `workspace`, kept for the texts asked about again (each poll's legs). */
function analyze(text: string, workspace: KustoWorkspace): Analysis {
  const cache = analysisCache.get(workspace) ?? new Map<string, Analysis>();
  analysisCache.set(workspace, cache);
  const shape = bindingShape(text);
  const known = cache.get(shape);
  if (known !== undefined) return known;
  const analysis = kusto().KustoCode.ParseAndAnalyze(shape, globalsFor(workspace));
  if (cache.size >= 256) cache.delete(cache.keys().next().value ?? '');
  cache.set(shape, analysis);
  return analysis;
}

function globalsFor(workspace: KustoWorkspace): unknown {
  const cached = globalsCache.get(workspace);
  if (cached !== undefined) return cached;
  const { Symbols, GlobalState } = kusto();
  const members = [
    ...Object.entries(workspace.tables).map(
      ([name, schema]) => new Symbols.TableSymbol.$ctor7(name, schema, null),
    ),
    ...Object.entries(workspace.functions).map(
      ([name, body]) => new Symbols.FunctionSymbol.$ctor12(name, body, Symbols.Tabularity.Tabular, []),
    ),
  ];
  const globals = GlobalState.Default.WithDatabase(new Symbols.DatabaseSymbol.ctor('workspace', members));
  globalsCache.set(workspace, globals);
  return globals;
}

/** Every error and warning Microsoft's binder reports for `text` in `workspace`. */
export function kustoDiagnostics(
  text: string,
  workspace: KustoWorkspace,
): { severity: string; message: string; at: string }[] {
  const diagnostics = analyze(text, workspace).GetDiagnostics();
  const out = [];
  for (let i = 0; i < diagnostics.Count; i += 1) {
    const d = diagnostics.getItem(i);
    out.push({ severity: d.Severity, message: d.Message, at: text.slice(d.Start, d.Start + 60) });
  }
  return out;
}

/**
 * The columns (name and type) of the table a query returns, as Microsoft's binder works them out: e.g. a
 * union of legs whose same-named columns differ in type returns one column per type (`ProcessId_long`,
 * `ProcessId_string`).
 */
export function kustoResultColumns(
  text: string,
  workspace: KustoWorkspace,
): { name: string; type: string }[] {
  const columns = analyze(text, workspace).ResultType?.Columns;
  if (columns === undefined) return [];
  return Array.from({ length: columns.Count }, (_, i) => {
    const column = columns.getItem(i);
    return { name: column.Name, type: column.Type.Name };
  });
}

/** A node of Microsoft's syntax tree, with its kind by name (`FilterOperator`, `EqualTildeExpression`...). */
export interface KustoNode {
  readonly kind: string;
  readonly ChildCount: number;
  GetChild(index: number): KustoNode | null;
  toString(): string;
  readonly LiteralValue: unknown;
}

let kindNames: Map<number, string> | null = null;

/**
 * A node's wrapper, made once: the tree never changes, so its children and its text (which the bridge
 * rebuilds by walking every token below the node, each time it is asked) are worked out once and kept. The
 * evaluator asks for them for every row.
 */
function wrap(node: BridgeNode): KustoNode {
  kindNames ??= new Map(Object.entries(kusto().Syntax.SyntaxKind).map(([name, id]) => [id, name]));
  const names = kindNames;
  let text: string | undefined;
  const kids = new Map<number, KustoNode | null>();
  return {
    kind: names.get(node.Kind) ?? String(node.Kind),
    ChildCount: node.ChildCount,
    GetChild: (index) => {
      if (!kids.has(index)) {
        const child = node.GetChild(index);
        kids.set(index, child === null ? null : wrap(child));
      }
      return kids.get(index) ?? null;
    },
    toString: () => (text ??= node.toString()),
    LiteralValue: node.LiteralValue,
  };
}

/** The syntax tree Microsoft's parser makes of `text`. */
export function kustoSyntax(text: string): KustoNode {
  return wrap(kusto().KustoCode.Parse(text).Syntax);
}

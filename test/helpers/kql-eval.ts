import {
  kustoDiagnostics,
  kustoResultColumns,
  kustoSyntax,
  type KustoNode,
  type KustoWorkspace,
} from './kusto.js';

/**
 * Runs the part of KQL the Sentinel connector sends over in-memory tables, so the Sentinel fake answers a
 * query the way Log Analytics would and not the way we meant it. The text is parsed and bound by Microsoft's
 * own Kusto language service: a binder error is refused as Log Analytics refuses it (HTTP 400, SemanticError),
 * and the evaluator walks Microsoft's syntax tree. Semantics from the KQL reference (learn.microsoft.com/
 * kusto/query): `union isfuzzy=true` skips a table or function that does not resolve, and a plain union
 * fails, and where legs have same-named columns of different types the union returns one column per type,
 * named `<column>_<type>` (the binder's own result schema decides); `=~`, `contains`, `startswith`,
 * `endswith` are case-insensitive and `==`, `in` case-sensitive; `between` includes both ends; `tolong()` of
 * text that is no number is null, and a comparison with null is false; `extend` adds columns; a table or
 * function returns only its declared columns; `pack_all()` packs a row's columns into one property bag;
 * `ingestion_time()` is the row's hidden ingestion time, lost after a `project`;
 * `coalesce()` takes the first value that is neither null nor an empty string.
 */
export type KqlRow = Record<string, unknown>;

export type KqlAnswer = { readonly rows: KqlRow[] } | { readonly refused: string };

export function evaluateKql(
  text: string,
  workspace: KustoWorkspace,
  data: Readonly<Record<string, readonly KqlRow[]>>,
): KqlAnswer {
  const errors = kustoDiagnostics(text, workspace).filter((d) => d.severity === 'Error');
  if (errors.length > 0) return { refused: errors.map((e) => e.message).join('; ') };
  const declared = new Map(
    Object.entries({ ...workspace.tables, ...workspace.functions }).map(([name, schema]) => [
      name,
      [...schema.matchAll(/(\w+):\w+/g)].map((m) => m[1] ?? ''),
    ]),
  );
  return { rows: tabular(statement(kustoSyntax(text)), { declared, data, workspace, text }) };
}

interface Scope {
  readonly declared: ReadonlyMap<string, readonly string[]>;
  readonly data: Readonly<Record<string, readonly KqlRow[]>>;
  readonly workspace: KustoWorkspace;
  /** The whole query: a union that is the whole query is analysed once, with its diagnostics. */
  readonly text: string;
}

/**
 * Only the columns a table or function declares come back from it, with the hidden ingestion time
 * (`$IngestionTime`, what `ingestion_time()` reads) until a `project` drops it.
 */
function declaredColumns(row: KqlRow, columns: readonly string[]): KqlRow {
  return Object.fromEntries(
    [...columns, ingestionTime].filter((c) => Object.hasOwn(row, c)).map((c) => [c, row[c]]),
  );
}

export const ingestionTime = '$IngestionTime';

/**
 * A union's rows under the union's own column names: where the binder split a column by type, each leg's
 * value goes to `<column>_<its type in that leg>`.
 */
function unionColumns(
  node: KustoNode,
  legs: readonly KustoNode[],
  rowsOf: KqlRow[][],
  scope: Scope,
): KqlRow[] {
  const own = node.toString().trim() === scope.text.trim() ? scope.text : node.toString();
  const names = new Set(kustoResultColumns(own, scope.workspace).map((c) => c.name));
  return legs.flatMap((leg, i) => {
    const rows = rowsOf[i] ?? [];
    const visible = (key: string) => key === ingestionTime || names.has(key);
    if (rows.every((row) => Object.keys(row).every(visible))) return rows;
    const types = new Map(kustoResultColumns(leg.toString(), scope.workspace).map((c) => [c.name, c.type]));
    return rows.map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([key, v]) => [visible(key) ? key : `${key}_${types.get(key) ?? ''}`, v]),
      ),
    );
  });
}

const childLists = new WeakMap<KustoNode, KustoNode[]>();

/** A node's children, listed once per node (the evaluator walks the same nodes for every row). */
function children(node: KustoNode): KustoNode[] {
  let list = childLists.get(node);
  if (list === undefined) {
    list = Array.from({ length: node.ChildCount }, (_, i) => node.GetChild(i)).filter(
      (n): n is KustoNode => n !== null,
    );
    childLists.set(node, list);
  }
  return list;
}

/** The first descendant (depth first) of a kind. */
function first(node: KustoNode, kind: string): KustoNode | undefined {
  for (const child of children(node)) {
    if (child.kind === kind) return child;
    const found = first(child, kind);
    if (found) return found;
  }
  return undefined;
}

/** The elements of a SeparatedElement list, whatever their kind. */
function elements(list: KustoNode): KustoNode[] {
  return children(list).flatMap((element) =>
    element.kind === 'SeparatedElement' ? children(element).filter((n) => !n.kind.endsWith('Token')) : [],
  );
}

function statement(root: KustoNode): KustoNode {
  const expression = first(root, 'ExpressionStatement');
  const [inner] = expression ? children(expression) : [];
  if (inner === undefined) throw new Error('kql-eval: no query expression');
  return inner;
}

function tabular(node: KustoNode, scope: Scope): KqlRow[] {
  switch (node.kind) {
    case 'ParenthesizedExpression':
      return tabular(expressionIn(node), scope);
    case 'NameReference': {
      const name = nameOf(node);
      const columns = scope.declared.get(name) ?? [];
      return (scope.data[name] ?? []).map((row) => declaredColumns(row, columns));
    }
    case 'UnionOperator': {
      const fuzzy = /isfuzzy\s*=\s*true/.test(node.toString());
      const lists = children(node).filter((n) => n.kind === 'List');
      const legs = elements(lists.at(-1) ?? node);
      const rowsOf = legs.map((leg) => {
        const table = first(leg, 'NameReference');
        if (table !== undefined && !scope.declared.has(nameOf(table))) {
          if (fuzzy) return [];
          throw new Error(`Failed to resolve table or column expression named '${nameOf(table)}'`);
        }
        return tabular(leg, scope);
      });
      return unionColumns(node, legs, rowsOf, scope);
    }
    case 'PipeExpression': {
      const [left, , operator] = children(node);
      if (left === undefined || operator === undefined) throw new Error('kql-eval: malformed pipe');
      const rows = tabular(left, scope);
      if (operator.kind === 'FilterOperator') {
        const predicate = children(operator).at(-1);
        if (predicate === undefined) throw new Error('kql-eval: where without a predicate');
        return rows.filter((row) => value(predicate, row) === true);
      }
      if (operator.kind === 'ExtendOperator' || operator.kind === 'ProjectOperator') {
        const assignments = elements(children(operator).find((n) => n.kind === 'List') ?? operator);
        return rows.map((row) => {
          const out: KqlRow = operator.kind === 'ExtendOperator' ? { ...row } : {};
          for (const assignment of assignments) {
            if (assignment.kind === 'NameReference') {
              out[nameOf(assignment)] = value(assignment, row);
              continue;
            }
            const [name, , expression] = children(assignment);
            if (assignment.kind !== 'SimpleNamedExpression' || name === undefined || expression === undefined)
              throw new Error(`kql-eval: only name = expression is modelled in ${operator.kind}`);
            out[name.toString().trim()] = value(expression, row);
          }
          return out;
        });
      }
      throw new Error(`kql-eval: operator ${operator.kind} is not modelled`);
    }
    default:
      throw new Error(`kql-eval: tabular expression ${node.kind} is not modelled`);
  }
}

function expressionIn(node: KustoNode): KustoNode {
  const inner = children(node).find((n) => !n.kind.endsWith('Token'));
  if (inner === undefined) throw new Error('kql-eval: empty parentheses');
  return inner;
}

function nameOf(node: KustoNode): string {
  return node.toString().trim();
}

const asText = (v: unknown): string | null =>
  v === null || v === undefined
    ? null
    : v instanceof Date
      ? v.toISOString()
      : typeof v === 'string'
        ? v
        : typeof v === 'number' || typeof v === 'boolean'
          ? String(v)
          : JSON.stringify(v);
const lower = (v: unknown): string => (asText(v) ?? '').toLowerCase();

function value(node: KustoNode, row: KqlRow): unknown {
  const [left, , right] = children(node);
  const both = (): [unknown, unknown] => [value(left as KustoNode, row), value(right as KustoNode, row)];
  switch (node.kind) {
    case 'ParenthesizedExpression':
      return value(expressionIn(node), row);
    case 'AndExpression': {
      const [a, b] = both();
      return a === true && b === true;
    }
    case 'OrExpression': {
      const [a, b] = both();
      return a === true || b === true;
    }
    case 'NameReference': {
      const name = nameOf(node);
      return Object.hasOwn(row, name) ? row[name] : null;
    }
    case 'StringLiteralExpression':
    case 'LongLiteralExpression':
    case 'IntLiteralExpression':
    case 'BooleanLiteralExpression':
    case 'DateTimeLiteralExpression':
      return literal(node);
    case 'FunctionCallExpression': {
      const name = nameOf(children(node)[0] as KustoNode);
      const args = elements(first(node, 'List') ?? node);
      if (name === 'pack_all')
        return Object.fromEntries(Object.entries(row).filter(([key]) => key !== ingestionTime));
      if (name === 'ingestion_time') return row[ingestionTime] ?? null;
      if (name === 'iff') {
        const [condition, then, otherwise] = args;
        return value((value(condition as KustoNode, row) === true ? then : otherwise) as KustoNode, row);
      }
      const values = args.map((a) => value(a, row));
      const [v = null] = values;
      const text = asText(v);
      switch (name) {
        case 'tostring':
          return text ?? '';
        case 'tolong':
        case 'toint':
          return text !== null && /^-?\d+$/.test(text.trim()) ? Number(text) : null;
        case 'isempty':
          return text === null || text === '';
        case 'strcat':
          return values.map((x) => asText(x) ?? '').join('');
        case 'coalesce':
          return values.find((x) => x !== null && x !== '') ?? null;
      }
      throw new Error(`kql-eval: function ${name} is not modelled`);
    }
    case 'EqualTildeExpression': {
      const [a, b] = both();
      return a !== null && b !== null && lower(a) === lower(b);
    }
    case 'EqualExpression': {
      const [a, b] = both();
      return (
        a !== null &&
        b !== null &&
        (typeof a === 'number' || typeof b === 'number' ? Number(a) === Number(b) : a === b)
      );
    }
    case 'ContainsExpression': {
      const [a, b] = both();
      return lower(a).includes(lower(b));
    }
    case 'StartsWithExpression': {
      const [a, b] = both();
      return lower(a).startsWith(lower(b));
    }
    case 'EndsWithExpression': {
      const [a, b] = both();
      return lower(a).endsWith(lower(b));
    }
    case 'InExpression': {
      const a = value(left as KustoNode, row);
      const list = elements(first(node, 'List') ?? node).map((n) => value(n, row));
      return a !== null && list.some((b) => (typeof b === 'number' ? Number(asText(a)) === b : a === b));
    }
    case 'BetweenExpression': {
      const a = value(left as KustoNode, row);
      const couple = first(node, 'ExpressionCouple');
      const bounds = couple ? children(couple).filter((n) => !n.kind.endsWith('Token')) : [];
      const [low, high] = bounds.map((n) => value(n, row));
      const t = a instanceof Date ? a.getTime() : Date.parse(String(a));
      const time = (b: unknown): number => (b instanceof Date ? b.getTime() : Number(b));
      return Number.isFinite(t) && t >= time(low) && t <= time(high);
    }
    default:
      throw new Error(`kql-eval: expression ${node.kind} is not modelled`);
  }
}

function literal(node: KustoNode): unknown {
  const raw = node.LiteralValue;
  if (node.kind === 'DateTimeLiteralExpression')
    return new Date((raw as { v: Date } | null)?.v ?? Number.NaN);
  // A long literal is a Bridge.NET Int64 object (its toString is the decimal); an int literal a number.
  if (node.kind === 'LongLiteralExpression' || node.kind === 'IntLiteralExpression')
    return Number((raw as { toString(): string }).toString());
  return raw;
}

import { kustoDiagnostics, kustoSyntax, type KustoNode, type KustoWorkspace } from './kusto.js';

/**
 * Runs the part of KQL the Sentinel connector sends over in-memory tables, so the Sentinel fake answers a
 * query the way Log Analytics would and not the way we meant it. The text is parsed and bound by Microsoft's
 * own Kusto language service: a binder error is refused as Log Analytics refuses it (HTTP 400, SemanticError),
 * and the evaluator walks Microsoft's syntax tree. Semantics from the KQL reference (learn.microsoft.com/
 * kusto/query): `union isfuzzy=true` skips a table or function that does not resolve, and a plain union
 * fails; `=~`, `contains`, `startswith`, `endswith` are case-insensitive and `==`, `in` case-sensitive;
 * `between` includes both ends; `tolong()` of text that is no number is null, and a comparison with null is
 * false; `extend` adds columns.
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
  const known = new Set([...Object.keys(workspace.tables), ...Object.keys(workspace.functions)]);
  return { rows: tabular(statement(kustoSyntax(text)), { known, data }) };
}

interface Scope {
  readonly known: ReadonlySet<string>;
  readonly data: Readonly<Record<string, readonly KqlRow[]>>;
}

const children = (node: KustoNode): KustoNode[] =>
  Array.from({ length: node.ChildCount }, (_, i) => node.GetChild(i)).filter(
    (n): n is KustoNode => n !== null,
  );

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
      return [...(scope.data[name] ?? [])];
    }
    case 'UnionOperator': {
      const fuzzy = /isfuzzy\s*=\s*true/.test(node.toString());
      const lists = children(node).filter((n) => n.kind === 'List');
      const legs = elements(lists.at(-1) ?? node);
      return legs.flatMap((leg) => {
        const table = first(leg, 'NameReference');
        if (table !== undefined && !scope.known.has(nameOf(table))) {
          if (fuzzy) return [];
          throw new Error(`Failed to resolve table or column expression named '${nameOf(table)}'`);
        }
        return tabular(leg, scope);
      });
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
      if (operator.kind === 'ExtendOperator') {
        const assignments = elements(children(operator).find((n) => n.kind === 'List') ?? operator);
        return rows.map((row) => {
          const out = { ...row };
          for (const assignment of assignments) {
            const [name, , expression] = children(assignment);
            if (name === undefined || expression === undefined) continue;
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
      const [argument] = elements(first(node, 'List') ?? node);
      const v = argument === undefined ? null : value(argument, row);
      if (name === 'tostring') return asText(v) ?? '';
      const text = asText(v);
      if (name === 'tolong') return text !== null && /^-?\d+$/.test(text.trim()) ? Number(text) : null;
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

/**
 * Resolving database functions and `Case` expressions (functions.ts) into nodes: their
 * arguments through the query, their output type (Django's `_resolve_output_field`), the checks
 * Django makes when it resolves them (Extract of a time part from a date, Trunc of a date to an
 * hour, ...). The SQL is the backend's (`ops.functionTemplate`). Internal to the package (not
 * exported from its index).
 */
import { FieldError } from '../errors';
import { DateField } from '../fields/date-field';
import { DateTimeField } from '../fields/date-time-field';
import type { Field } from '../fields/field';
import type { Expression } from './expressions';
import type { CaseExpression, Func } from './functions';
import { ComputedDecimalField, OUTPUT } from './output-types';
import type { QNode } from './q';
import { CaseNode, DateNode, FuncNode, NULL_NODE, PartNode, WrapNode, type ExprNode, type WhereChild } from './nodes';

/** What resolving needs from the query. */
export interface FunctionResolver {
  readonly model: string;
  expr(e: Expression): ExprNode;
  outputOf(n: ExprNode): Field | undefined;
  condition(q: QNode<unknown>): WhereChild;
}

/** Computed dates and instants (never attached to a model). */
export const DATE_OUTPUT = new DateField({ null: true });
export const DATETIME_OUTPUT = new DateTimeField({ null: true });

const TEXT_FUNCTIONS = new Set([
  'Lower',
  'Upper',
  'Length',
  'Concat',
  'Substr',
  'Trim',
  'LTrim',
  'RTrim',
  'Replace',
  'Left',
  'Right',
  'StrIndex',
]);
const NUMBER_FUNCTIONS = new Set(['Abs', 'Round', 'Ceil', 'Floor', 'Mod', 'Power']);
const TIME_PARTS = new Set(['hour', 'minute', 'second']);

function typeName(f: Field): string {
  return f instanceof ComputedDecimalField ? 'DecimalField' : f.internalType;
}

function describeArg(n: ExprNode, f: Field): string {
  return n.kind === 'col' ? `${f.internalType} '${f.model?.name ?? ''}${f.model ? '.' : ''}${f.name}'` : typeName(f);
}

/**
 * The one type of `fields` (Django's `_resolve_output_field`: the sources must agree); NULLs and
 * unknown types are skipped. A `FieldError` for a mix, asking for an `outputField`.
 */
export function commonOutput(fields: ReadonlyArray<Field | undefined>, what: string): Field | undefined {
  let first: Field | undefined;
  for (const f of fields) {
    if (f === undefined) continue;
    if (first === undefined) first = f;
    else if (f.lookupKind !== first.lookupKind)
      throw new FieldError(`${what}: expression contains mixed types: ${typeName(first)}, ${typeName(f)}. You must set outputField.`);
  }
  return first;
}

/** Resolve a database function. */
export function resolveFunc(f: Func, r: FunctionResolver): ExprNode {
  const name = f.builtin;
  const args = f.args.map((a) => r.expr(a));
  const fields = args.map((a) => r.outputOf(a));
  const declared = f.options.outputField;
  if (name === '') {
    const fn = f.options.function;
    let template = f.options.template ?? `${fn}(%(expressions)s)`;
    if (fn !== undefined) {
      template =
        typeof template === 'string'
          ? template.split('%(function)s').join(fn)
          : Object.fromEntries(Object.entries(template).map(([k, t]) => [k, (t as string).split('%(function)s').join(fn)]));
    }
    return FuncNode.create('Func', args, declared ?? commonOutput(fields, `Func(${fn ?? 'template'})`), '', template);
  }
  if (TEXT_FUNCTIONS.has(name)) {
    // Concat with a declared text output takes any argument (Django: output_field=CharField()).
    if (name === 'Concat' && declared !== undefined) return FuncNode.create(name, args, declared);
    const textArgs = name === 'Concat' || name === 'Replace' ? args.length : name === 'StrIndex' ? 2 : 1;
    for (let i = 0; i < textArgs; i++) {
      const field = fields[i];
      if (field !== undefined && field.lookupKind !== 'text')
        throw new FieldError(
          `${r.model}: ${name}() takes text, got ${describeArg(args[i] as ExprNode, field)}.${
            name === 'Concat'
              ? " Expression contains mixed types: set outputField (Concat(..., { outputField: new TextField() })), as Django's output_field."
              : ''
          }`,
          { model: r.model },
        );
    }
    return FuncNode.create(name, args, name === 'Length' || name === 'StrIndex' ? OUTPUT.integer : OUTPUT.text);
  }
  if (NUMBER_FUNCTIONS.has(name)) {
    fields.forEach((field, i) => {
      const k = field?.lookupKind;
      if (field !== undefined && k !== 'integer' && k !== 'float' && k !== 'decimal')
        throw new FieldError(`${r.model}: ${name}() takes numbers, got ${describeArg(args[i] as ExprNode, field)}.`, { model: r.model });
    });
    if (name === 'Mod' || name === 'Power') {
      // Django's NumericOutputFieldMixin: a decimal when an argument is one, else a float.
      const decimal = fields.some((x) => x?.lookupKind === 'decimal');
      // Which arguments are floats (`float:0,1`): PostgreSQL has no MOD of double precision, and
      // casts them to numeric there (Django's FixDecimalInputMixin); other backends ignore it.
      const floats = fields.flatMap((x, i) => (x?.lookupKind === 'float' ? [i] : []));
      const option = name === 'Mod' && floats.length > 0 ? `float:${floats.join(',')}` : '';
      return FuncNode.create(name, args, decimal ? OUTPUT.decimal : OUTPUT.float, option);
    }
    return FuncNode.create(name, args, fields[0] ?? OUTPUT.float);
  }
  switch (name) {
    case 'Coalesce':
    case 'Greatest':
    case 'Least':
    case 'NullIf':
      return FuncNode.create(name, args, declared ?? commonOutput(fields, name));
    case 'Cast': {
      const target = declared as Field;
      const source = fields[0];
      const arg = args[0] as ExprNode;
      // The date of an instant is its date in UTC (not in the session's time zone).
      if (target.lookupKind === 'date' && source?.lookupKind === 'datetime') return WrapNode.create(DateNode.create(arg), target);
      const t = target as unknown as Record<string, unknown>;
      const option = `${target.internalType}(${[t['maxLength'], t['maxDigits'], t['decimalPlaces']].filter((x) => x !== undefined).join(',')})`;
      return FuncNode.create('Cast', args, target, option);
    }
    case 'Extract': {
      const part = f.option;
      const arg = args[0] as ExprNode;
      const kind = dateKind(name, fields[0], arg, r, 'Extract input expression must be a DateField or a DateTimeField');
      if (kind === 'date' && TIME_PARTS.has(part))
        throw new FieldError(`${r.model}: cannot extract time component '${part}' from ${describeArg(arg, fields[0] as Field)}.`, {
          model: r.model,
        });
      return PartNode.create(part, kind === 'datetime', arg);
    }
    case 'Trunc': {
      const unit = f.option;
      const arg = args[0] as ExprNode;
      const kind = dateKind(name, fields[0], arg, r, 'Trunc is only valid on a DateField or a DateTimeField');
      if (kind === 'date' && TIME_PARTS.has(unit))
        throw new FieldError(`${r.model}: cannot truncate ${describeArg(arg, fields[0] as Field)} to DateTimeField ('${unit}').`, {
          model: r.model,
        });
      return FuncNode.create('Trunc', args, kind === 'date' ? DATE_OUTPUT : DATETIME_OUTPUT, `${unit}:${kind}`);
    }
    case 'TruncDate': {
      const arg = args[0] as ExprNode;
      const kind = dateKind(name, fields[0], arg, r, 'TruncDate is only valid on a DateTimeField');
      if (kind === 'date') return WrapNode.create(arg, DATE_OUTPUT);
      return WrapNode.create(DateNode.create(arg), DATE_OUTPUT);
    }
    case 'Now':
      return FuncNode.create('Now', [], DATETIME_OUTPUT);
    default:
      throw new TypeError(`internal: unknown function ${name}`);
  }
}

function dateKind(name: string, field: Field | undefined, arg: ExprNode, r: FunctionResolver, message: string): 'date' | 'datetime' {
  const k = field?.lookupKind;
  if (k === 'date' || k === 'datetime') return k;
  throw new FieldError(
    `${r.model}: ${message}, got ${field === undefined ? 'an expression of unknown type' : describeArg(arg, field)} (${name}).`,
    {
      model: r.model,
    },
  );
}

/** Resolve `Case(When(...), ..., { default })`. */
export function resolveCase(c: CaseExpression, r: FunctionResolver): ExprNode {
  const whens = c.whens.map((w) => ({ cond: r.condition(w.condition), then: r.expr(w.then) }));
  const otherwise = c.otherwise === undefined ? NULL_NODE : r.expr(c.otherwise);
  // No When: the default alone (Django's Case.as_sql compiles only the default then).
  if (whens.length === 0) {
    const out = c.outputField ?? r.outputOf(otherwise);
    return out !== undefined ? WrapNode.create(otherwise, out) : otherwise;
  }
  const field = c.outputField ?? commonOutput([...whens.map((w) => r.outputOf(w.then)), r.outputOf(otherwise)], 'Case');
  return CaseNode.create(whens, otherwise, field);
}

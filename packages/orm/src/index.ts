/**
 * @spool/orm: Django's model and query layer for TypeScript, typed end to end, compiled through
 * knex, running on the connections of `@spool/connections` (every query runs on the current
 * scope's connection, inside its `atomic()` block).
 *
 * ### Examples
 * ```ts
 * import { Model, CharField, ForeignKey, ReverseForeignKey, Q, F, Count } from '@spool/orm';
 *
 * export class Author extends Model.define({
 *   name: new CharField({ maxLength: 100 }),
 *   books: new ReverseForeignKey<Book>(() => Book, 'author'),
 * }) {}
 * export class Book extends Model.define({
 *   title: new CharField({ maxLength: 200 }),
 *   author: new ForeignKey(() => Author, { onDelete: 'cascade' }),
 * }) {}
 *
 * await scope(async () => {
 *   const ann = await Author.objects.create({ name: 'Ann' });
 *   await Book.objects.create({ title: 'Spool', author: ann });
 *   const books = await Book.objects.filter({ author__name__startswith: 'A' }).selectRelated('author');
 *   books[0].author.name;   // no query
 * });
 * ```
 */
export { Model, type ModelClass, type ModelInstance, type SaveOptions } from './models/model';
export { ModelMeta, type MetaOptions, type RelatedObject } from './models/model-meta';
export { UniqueConstraint, Index, type Constraint } from './models/constraints';
export {
  UnderscoreNamingStrategy,
  AttributeNamingStrategy,
  namingStrategy,
  setNamingStrategy,
  type NamingStrategy,
} from './models/naming-strategy';

export { Field, type FieldOptions, RESERVED_FIELD_NAMES } from './fields/field';
export { AutoField, BigAutoField, type AutoFieldOptions } from './fields/auto-field';
export { IntegerField, BigIntegerField, type IntegerFieldOptions, type BigIntegerFieldOptions } from './fields/integer-field';
export { FloatField, type FloatFieldOptions } from './fields/float-field';
export { DecimalField, type DecimalFieldOptions } from './fields/decimal-field';
export { CharField, type CharFieldOptions } from './fields/char-field';
export { TextField, type TextFieldOptions } from './fields/text-field';
export { BooleanField, type BooleanFieldOptions } from './fields/boolean-field';
export { DateField, type DateFieldOptions } from './fields/date-field';
export { DateTimeField, type DateTimeFieldOptions } from './fields/date-time-field';
export { PreciseDate } from './fields/precise-date';
export { UUIDField, type UUIDFieldOptions } from './fields/uuid-field';
export { JSONField, type JSONFieldOptions, type JSONValue } from './fields/json-field';
export { ForeignKey, OneToOneField, ON_DELETE, type OnDelete, type ForeignKeyOptions } from './fields/foreign-key';
export { ManyToManyField, type ManyToManyFieldOptions } from './fields/many-to-many-field';
export { ReverseForeignKey, ReverseOneToOne, ReverseManyToMany } from './fields/reverse-relation';
export { ref, type ModelRef } from './fields/model-ref';
export { minValue, maxValue, minLength, regex, type Validator } from './fields/validators';

export { Manager } from './query/manager';
export { QuerySet, type AnnotationTypes, type FilterArg, type SelectForUpdateOptions } from './query/query-set';
export { RelatedManager } from './query/related-managers';
export { RawQuerySet } from './query/raw-query-set';
export { Prefetch } from './query/prefetch';
export { Q, QNode } from './query/q';
export {
  F,
  Value,
  ExpressionWrapper,
  Count,
  Sum,
  Avg,
  Min,
  Max,
  StdDev,
  Variance,
  Expression,
  Aggregate,
  OrderBy,
  FieldRef,
  KeyTransform,
  KeyTextTransform,
  KeyTransformExpression,
  type JSONKeyValue,
  CombinedExpression,
  WrappedExpression,
  type ValueOptions,
  type OutputValue,
  type Inferred,
  type AggregateFunction,
  type AggregateOptions,
  type FieldValue,
  type Combined,
} from './query/expressions';
export {
  Func,
  Lower,
  Upper,
  Length,
  Concat,
  type ConcatOptions,
  Substr,
  Trim,
  LTrim,
  RTrim,
  Replace,
  Left,
  Right,
  StrIndex,
  Coalesce,
  NullIf,
  Greatest,
  Least,
  Abs,
  Round,
  Ceil,
  Floor,
  Mod,
  Power,
  Cast,
  Extract,
  ExtractYear,
  ExtractIsoYear,
  ExtractQuarter,
  ExtractMonth,
  ExtractWeek,
  ExtractDay,
  ExtractWeekDay,
  ExtractIsoWeekDay,
  ExtractHour,
  ExtractMinute,
  ExtractSecond,
  Trunc,
  TruncYear,
  TruncQuarter,
  TruncMonth,
  TruncWeek,
  TruncDay,
  TruncHour,
  TruncMinute,
  TruncSecond,
  TruncDate,
  Now,
  Case,
  When,
  CaseExpression,
  WhenBranch,
  type FuncOptions,
  type Arg,
  type ArgValue,
  type TextArg,
  type NumberArg,
  type DateArg,
  type DatePart,
  type TruncUnit,
  type ResolveValue,
  type NullLike,
  type Coalesced,
  type Numeric,
} from './query/functions';
export { registerLookup, type TransformDefinition, type LookupDefinition } from './query/custom-lookups';
export {
  Subquery,
  Exists,
  OuterRef,
  SubqueryExpression,
  ExistsExpression,
  OuterRefExpression,
  type SubqueryValue,
} from './query/subquery-expressions';
export {
  Window,
  RowNumber,
  Rank,
  DenseRank,
  PercentRank,
  CumeDist,
  Ntile,
  Lag,
  Lead,
  FirstValue,
  LastValue,
  NthValue,
  RowRange,
  ValueRange,
  WindowExpression,
  WindowFunction,
  WindowFrame,
  type WindowOptions,
  type WindowTerm,
} from './query/window-expressions';

export { SchemaEditor, schemaEditor } from './schema/schema-editor';
export type { BaseOperations } from './backends/base-operations';
export type { DatabaseFeatures } from './backends/database-features';

export {
  FieldError,
  ModelDefinitionError,
  ValidationError,
  ObjectDoesNotExist,
  MultipleObjectsReturned,
  RelatedNotLoadedError,
  ProtectedError,
  RestrictedError,
  type ValidationMessage,
} from './errors';
export { IntegrityError, DatabaseError, NotSupportedError, DataError, SpoolError } from '@spool/connections';

export type {
  FieldMap,
  AnyInstance,
  FieldsOf,
  RowOf,
  InsertOf,
  UpdateOf,
  FilterOf,
  ValueMap,
  ValuePath,
  JsonPath,
  JSONLike,
  OrderTerm,
  SelectRelatedPath,
  PrefetchPath,
  UniqueKey,
  UniqueValue,
  PkOf,
  InferRow,
  InferInsert,
  InferUpdate,
  InferInstance,
  Simplify,
  LookupKind,
  SpecOf,
  ScalarKeys,
  FkKeys,
  ModelFields,
  HasPk,
} from './types';

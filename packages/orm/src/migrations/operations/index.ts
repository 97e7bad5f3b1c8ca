/** Every migration operation. */
export { Operation, type OperationContext } from './operation';
export { CreateModel, DeleteModel, RenameModel, AlterModelTable, AlterUniqueTogether } from './model-operations';
export { AddField, RemoveField, AlterField, RenameField } from './field-operations';
export { AddIndex, RemoveIndex, AddConstraint, RemoveConstraint } from './index-operations';
export { RunSQL, RunCode, type RunCodeContext, type RunCodeFunction, type SqlInput, type SqlStatement } from './special-operations';

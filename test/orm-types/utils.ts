/** Type assertions, checked by `tsc -p test/orm-types` (a failing one does not compile). */
export type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
export type Expect<T extends true> = T;
export type Not<T extends boolean> = T extends true ? false : true;
/** Does `K` name a key of `T`? */
export type HasKey<T, K extends PropertyKey> = K extends keyof T ? true : false;
/** Are A and B assignable to each other (structurally the same)? */
export type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

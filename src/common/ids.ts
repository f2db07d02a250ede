/** A UUID as PostgreSQL's uuid type stores it (source ids, claim ids, subscription ids). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** GitHub's account names: letters, digits, inner "_" (managed users) and single inner hyphens, up to 39. */
export const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9_]|-(?=[A-Za-z0-9_])){0,38}$/;
/** GitHub's repository names: letters, digits, ".", "_", "-", up to 100; not "." or "..". */
export const REPO = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}$/;
/** An item number written in decimal digits only: "0x10", "1e3" or " 2" name no item. */
export const ITEM_NUMBER = /^[1-9][0-9]{0,9}$/;
/** The largest item number the bridge stores (its columns are PostgreSQL integers). */
export const MAX_ITEM_NUMBER = 2_147_483_647;

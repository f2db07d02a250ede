import { InitialSchema1764300000000 } from './migrations/1764300000000-InitialSchema';
import { AuthLinks1764500000000 } from './migrations/1764500000000-AuthLinks';

/**
 * Every migration, oldest first. `npm run migration:generate -- src/database/migrations/Name`
 * writes a new file; add its class here.
 */
export const migrations = [InitialSchema1764300000000, AuthLinks1764500000000];

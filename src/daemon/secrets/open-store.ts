// Chooses the secret store for this configuration.

import type { ProductPaths } from '../../shared/paths.js';
import { FileSecretStore } from './file-store.js';
import type { SecretStore } from './secret-store.js';

export function openSecretStore(paths: ProductPaths): SecretStore {
  return new FileSecretStore(paths.secretsFile);
}

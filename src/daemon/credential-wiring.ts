// The credential service and what it stands on (config.json, the secret store, the account
// states, the OAuth token manager, the settings), put together once for both places that answer
// git: the daemon (main.ts) and the helper's own process in a one-shot job (in-process.ts), so
// the two answer alike. The in-process path loads this on every git operation of such a job:
// nothing here may pull in what only a long-lived daemon needs (sockets, the ui, forwards).

import type { Logger } from 'pino';
import type { ProductPaths } from '../shared/paths.js';
import { SETTINGS, readSetting, type Setting, type SettingName } from '../shared/settings.js';
import { AccountStateBook } from '../core/account-state.js';
import { ConfigCache, ConfigError, type ConfigSource } from '../core/config.js';
import { OAuthClient } from '../core/oauth/oauth-client.js';
import { openSecretStore, type OpenStoreOptions, type SelectedSecretStore } from '../core/secrets/open-store.js';
import { CredentialService, type CredentialServiceDeps } from './credential-service.js';
import { TokenManager } from './oauth/token-manager.js';

/** What only the daemon adds: its secret cache in front of the keychain, and the events an open `ui` page watches. */
export type CredentialWiringExtras = Pick<OpenStoreOptions, 'serveKeychainThrough'> & Pick<CredentialServiceDeps, 'onSecretRefused' | 'events'>;

export interface CredentialWiring {
  config: ConfigCache;
  store: SelectedSecretStore;
  tokens: TokenManager;
  service: CredentialService;
  /** A setting from the environment, else config.json, else its default; a bad value is logged once. */
  setting(name: SettingName): number;
}

export function wireCredentialService(paths: ProductPaths, log: Logger, extras: CredentialWiringExtras = {}): CredentialWiring {
  const config = new ConfigCache(paths.configFile);
  // One look at config.json per request, by the credential service: the settings and the
  // secret-store selection use the snapshot that look took (a changed file is noticed there,
  // and the store is chosen again for it).
  const snapshot: ConfigSource = { current: () => config.latest() };
  const setting = settingReader(snapshot, log);
  const store = openSecretStore(paths, { config: snapshot, serveKeychainThrough: extras.serveKeychainThrough });
  const states = new AccountStateBook(paths.stateFile);
  const tokens = new TokenManager({ store, states, client: new OAuthClient(), log, marginMs: () => setting('refreshMargin') * 1000 });
  const service = new CredentialService({ config, store, states, tokens, log, events: extras.events, onSecretRefused: extras.onSecretRefused });
  return { config, store, tokens, service, setting };
}

function settingReader(snapshot: ConfigSource, log: Logger): (name: SettingName) => number {
  const reported = new Set<string>();
  return (name) => {
    const definition: Setting = SETTINGS[name];
    let fromConfig: number | undefined;
    try {
      if (definition.config) {
        const section = snapshot.current()[definition.config[0]] as Record<string, number | undefined>;
        fromConfig = section[definition.config[1]];
      }
    } catch (error) {
      // A broken config.json is the request's to report; the setting falls back meanwhile.
      if (!(error instanceof ConfigError)) throw error;
    }
    const { value, problem } = readSetting(definition, process.env, fromConfig);
    if (problem && !reported.has(problem)) {
      reported.add(problem);
      log.warn({ problem }, 'setting ignored');
    }
    return value;
  };
}

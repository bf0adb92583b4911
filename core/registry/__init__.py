"""The registry: enterprises, gateways, meters, products, banks, consents, API keys and the audit log (SQL).

Modules: `creditcode` (GB 32100 codes), `models` (tables), `db` (engine, sessions), `hashing` (gateway
passwords in Mosquitto's format, API keys with argon2id), `yamlnodes` + `filespec` + `filecheck` + `fileparse`
(the registry YAML file: lines, keys, checks, parsing), `loader` (validated file → database), `access`
(API keys, consent, audit), `mosquitto` (password and ACL files for the broker).
"""

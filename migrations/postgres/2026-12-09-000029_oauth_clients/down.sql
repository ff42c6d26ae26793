DROP TABLE oauth_grants;
DROP TABLE oauth_codes;
DELETE FROM signing_keys WHERE algorithm = 'RS256';
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_algorithm_check;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_algorithm_check CHECK (algorithm IN ('EdDSA'));
DROP TABLE oauth_clients;

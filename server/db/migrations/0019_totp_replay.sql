-- A TOTP code is accepted once (RFC 6238 section 5.2): the last time-step a user's code
-- was accepted for; a code of that step or an earlier one is refused afterwards.
ALTER TABLE users ADD COLUMN totp_last_step bigint;

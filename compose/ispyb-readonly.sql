-- The site adapter reads ISPyB with a user granted only SELECT (it never writes).
CREATE USER IF NOT EXISTS 'mxhub_ro'@'%' IDENTIFIED BY 'readonly';
GRANT SELECT ON ispyb.* TO 'mxhub_ro'@'%';

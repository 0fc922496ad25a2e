-- upgrade
CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    title VARCHAR(255) NOT NULL,
    body TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ix_posts_created_at ON posts (created_at);
-- rollback
DROP INDEX ix_posts_created_at;
DROP TABLE posts;

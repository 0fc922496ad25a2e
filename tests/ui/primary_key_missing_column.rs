use dbwarden::Table;

#[derive(Table)]
#[dbwarden(primary_key("post_id", "tag_id"))]
pub struct Tagging {
    pub post_id: i64,
    pub tag: String,
}

fn main() {}

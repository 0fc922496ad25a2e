use dbwarden::Table;

#[derive(Table)]
#[dbwarden(primary_key("post_id", "tag"))]
pub struct Tagging {
    #[dbwarden(primary_key)]
    pub post_id: i64,
    pub tag: String,
}

fn main() {}

use dbwarden::Table;

#[derive(Table)]
#[dbwarden(check(expr = "price > 0"))]
pub struct Product {
    #[dbwarden(primary_key)]
    pub id: i64,
    pub price: f64,
}

fn main() {}

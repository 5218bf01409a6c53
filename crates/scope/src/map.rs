//! The data map: which tables hold people, which column identifies the person, and the
//! personal-data category of each column; which files hold personal data; which application
//! routes read which table; which categories are credentials (docs/scope.md). Read from YAML
//! with the same bounded loader as rules; every mistake is refused with its line.

use dwell_sigma::yaml::{Limits, Node, Yaml, load_all};
use std::collections::BTreeMap;

/// One table of people.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The column that identifies a person (`customer_id`).
    pub person: String,
    /// Column → category (`email` → `email`), columns lower case.
    pub columns: BTreeMap<String, String>,
    /// The column holding when a row was created, so that rows created after an access are
    /// left out.
    pub created: Option<String>,
}

/// Files that hold personal data, by path pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// A path pattern (`*` any run, `?` one character; case and `/` or `\` do not matter).
    pub path: String,
    /// The categories of personal data in it.
    pub categories: Vec<String>,
    /// How many people it holds, when the controller knows.
    pub people: Option<u64>,
}

/// An application whose access log names who read which records.
#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    /// Its name, as outputs give it.
    pub name: String,
    /// The log fields (dotted paths for nested JSON) of the principal, the client address,
    /// the route, and the record ids read (one value or an array).
    pub principal: String,
    /// The client address field.
    pub client: Option<String>,
    /// The route (URL path) field.
    pub route: String,
    /// The field of the ids of the records read.
    pub records: Option<String>,
    /// The field of the request's time, when dwell does not find it itself.
    pub time: Option<String>,
    /// Routes that read a table of people, in order: the first that matches decides.
    pub routes: Vec<Route>,
}

/// A route of an application that reads a table of people.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// A route pattern (`*` any run, `?` one character), matched without the query string.
    pub route: String,
    /// The table whose records it returns (a key of `tables`).
    pub table: String,
    /// The categories it returns [default: every category of the table].
    pub categories: Vec<String>,
}

/// Categories that are credentials when the map names none: whoever read them can log in as
/// the person, so their accounts are listed apart, to reset.
pub const CREDENTIALS: &[&str] = &[
    "password",
    "password_hash",
    "token",
    "api_key",
    "secret",
    "mfa_secret",
    "session_token",
];

/// The data map.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataMap {
    /// Tables of people by name (`schema.table`, lower case; `public.` when none was written).
    pub tables: BTreeMap<String, Table>,
    /// Files of personal data.
    pub files: Vec<File>,
    /// Applications with access logs.
    pub applications: Vec<Application>,
    /// The categories that are credentials.
    pub credentials: Vec<String>,
}

/// A table's name as the map keys it: lower case, `public.` when it has no schema.
pub fn table_key(name: &str) -> String {
    let n = name.trim().trim_matches('"').to_ascii_lowercase();
    if n.contains('.') {
        n
    } else {
        format!("public.{n}")
    }
}

impl DataMap {
    /// Reads a data map; errors name the line and what is wrong.
    pub fn parse(text: &str) -> Result<DataMap, String> {
        let docs = load_all(text, Limits::default()).map_err(|e| e.to_string())?;
        let [doc] = docs.as_slice() else {
            return Err(format!("expected one YAML document, found {}", docs.len()));
        };
        if let Yaml::Map(keys) = &doc.value {
            for (k, v) in keys {
                let k = k.scalar_text().unwrap_or_default();
                if !["tables", "files", "applications", "credentials"].contains(&k.as_str()) {
                    return Err(format!(
                        "line {}: unknown key `{k}` (tables, files, applications, credentials)",
                        v.line
                    ));
                }
            }
        }
        let mut map = DataMap::default();
        let entries: &[(Node, Node)] = match doc.get("tables") {
            None => &[],
            Some(Node {
                value: Yaml::Map(m),
                ..
            }) => m,
            Some(t) => return Err(format!("line {}: `tables` must be a mapping", t.line)),
        };
        for (name, t) in entries {
            let name = name.scalar_text().unwrap_or_default();
            let at = |what: &str| format!("line {}: table {name}: {what}", t.line);
            let person = t
                .get("person")
                .and_then(Node::as_str)
                .ok_or_else(|| at("`person:` (the column that identifies a person) is missing"))?
                .to_ascii_lowercase();
            let cols = t
                .get("columns")
                .ok_or_else(|| at("`columns:` (column: category) is missing"))?;
            let Yaml::Map(cols) = &cols.value else {
                return Err(at("`columns` must be a mapping of column: category"));
            };
            let mut columns = BTreeMap::new();
            for (c, cat) in cols {
                let c = c.scalar_text().unwrap_or_default();
                let cat = cat
                    .as_str()
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| at(&format!("column {c}: the category must be a name")))?;
                columns.insert(c.to_ascii_lowercase(), cat.trim().to_string());
            }
            let created = match t.get("created") {
                None => None,
                Some(c) => Some(
                    c.as_str()
                        .filter(|s| !s.trim().is_empty())
                        .ok_or_else(|| at("`created:` must name the creation-time column"))?
                        .trim()
                        .to_ascii_lowercase(),
                ),
            };
            if map
                .tables
                .insert(
                    table_key(&name),
                    Table {
                        person,
                        columns,
                        created,
                    },
                )
                .is_some()
            {
                return Err(at("listed twice"));
            }
        }
        for f in list(doc, "files")? {
            let at = |what: &str| format!("line {}: file: {what}", f.line);
            let path = text_of(f, "path")?.ok_or_else(|| at("`path:` (a pattern) is missing"))?;
            let categories = names(f, "categories")?;
            if categories.is_empty() {
                return Err(at("`categories:` (what it holds) is missing"));
            }
            let people = match f.get("people") {
                None => None,
                Some(Node {
                    value: Yaml::Int(n),
                    ..
                }) if *n >= 0 => Some(*n as u64),
                Some(n) => {
                    return Err(format!(
                        "line {}: `people:` must be a count of people",
                        n.line
                    ));
                }
            };
            map.files.push(File {
                path,
                categories,
                people,
            });
        }
        for a in list(doc, "applications")? {
            let name = text_of(a, "name")?
                .ok_or_else(|| format!("line {}: application: `name:` is missing", a.line))?;
            let at = |what: &str| format!("line {}: application {name}: {what}", a.line);
            let field = |k: &str| text_of(a, k);
            let mut app = Application {
                principal: field("principal")?
                    .ok_or_else(|| at("`principal:` (the field naming who) is missing"))?,
                client: field("client")?,
                route: field("route")?
                    .ok_or_else(|| at("`route:` (the field of the URL path) is missing"))?,
                records: field("records")?,
                time: field("time")?,
                routes: Vec::new(),
                name: name.clone(),
            };
            for r in list(a, "routes")? {
                let at = |what: &str| format!("line {}: application {name}: route: {what}", r.line);
                let route = text_of(r, "route")?.ok_or_else(|| at("`route:` is missing"))?;
                let table = text_of(r, "table")?.ok_or_else(|| at("`table:` is missing"))?;
                let Some((key, t)) = map.table(&table) else {
                    return Err(at(&format!("table {table} is not in `tables`")));
                };
                let mut categories = names(r, "categories")?;
                if categories.is_empty() {
                    categories = t.columns.values().cloned().collect();
                    categories.sort();
                    categories.dedup();
                }
                app.routes.push(Route {
                    route,
                    table: key.to_string(),
                    categories,
                });
            }
            if app.routes.is_empty() {
                return Err(at("`routes:` lists no route"));
            }
            map.applications.push(app);
        }
        map.credentials = if doc.get("credentials").is_some() {
            names(doc, "credentials")?
        } else {
            CREDENTIALS.iter().map(|c| c.to_string()).collect()
        };
        if map.tables.is_empty() && map.files.is_empty() {
            return Err(format!(
                "line {}: the map lists no table and no file",
                doc.line
            ));
        }
        Ok(map)
    }

    /// Whether a category is a credential.
    pub fn is_credential(&self, category: &str) -> bool {
        self.credentials.iter().any(|c| c == category)
    }

    /// The file entry a path falls under, if any.
    pub fn file(&self, path: &str) -> Option<&File> {
        self.files.iter().find(|f| file_matches(&f.path, path))
    }

    /// The table of people called `name`, if the map lists it.
    pub fn table(&self, name: &str) -> Option<(&str, &Table)> {
        let k = table_key(name);
        self.tables.get_key_value(&k).map(|(k, t)| (k.as_str(), t))
    }
}

/// `node[key]` as a list of mappings (absent: none).
fn list<'n>(node: &'n Node, key: &str) -> Result<&'n [Node], String> {
    match node.get(key) {
        None => Ok(&[]),
        Some(Node {
            value: Yaml::Seq(v),
            ..
        }) => Ok(v),
        Some(n) => Err(format!("line {}: `{key}` must be a list", n.line)),
    }
}

/// `node[key]` as text, if present.
fn text_of(node: &Node, key: &str) -> Result<Option<String>, String> {
    match node.get(key) {
        None => Ok(None),
        Some(n) => match n.scalar_text().filter(|s| !s.trim().is_empty()) {
            Some(s) => Ok(Some(s.trim().to_string())),
            None => Err(format!("line {}: `{key}` must be text", n.line)),
        },
    }
}

/// `node[key]` as a list of names (or one name).
fn names(node: &Node, key: &str) -> Result<Vec<String>, String> {
    match node.get(key) {
        None => Ok(Vec::new()),
        Some(Node {
            value: Yaml::Seq(v),
            ..
        }) => v
            .iter()
            .map(|n| {
                n.scalar_text()
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.trim().to_string())
                    .ok_or_else(|| format!("line {}: `{key}` lists something not a name", n.line))
            })
            .collect(),
        Some(n) => match n.scalar_text().filter(|s| !s.trim().is_empty()) {
            Some(s) => Ok(vec![s.trim().to_string()]),
            None => Err(format!("line {}: `{key}` must be a list of names", n.line)),
        },
    }
}

/// A glob: `*` any run (none too), `?` one character, everything else itself. Linear in
/// practice, quadratic at worst (no backtracking blow-up).
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// A file path against a pattern of the map, as Windows compares paths: case-insensitively,
/// `/` and `\` alike.
pub fn file_matches(pattern: &str, path: &str) -> bool {
    let norm = |s: &str| s.to_lowercase().replace('/', "\\");
    glob(&norm(pattern), &norm(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_is_read_and_its_mistakes_are_named() {
        let m = DataMap::parse(
            "tables:\n  public.customers:\n    person: customer_id\n    columns: {email: email, First_Name: name}\n  orders:\n    person: customer_id\n    columns: {items_json: order_history}\n",
        )
        .unwrap();
        assert_eq!(m.table("CUSTOMERS").unwrap().0, "public.customers");
        assert_eq!(
            m.table("public.orders").unwrap().1.columns["items_json"],
            "order_history"
        );
        assert_eq!(m.tables["public.customers"].columns["first_name"], "name");
        let e = DataMap::parse("tables:\n  customers:\n    columns: {email: email}\n").unwrap_err();
        assert!(e.starts_with("line 3") && e.contains("person"), "{e}");
        let e = DataMap::parse("tables: []\n").unwrap_err();
        assert!(e.contains("mapping"), "{e}");
        assert!(m.is_credential("password_hash"), "the default credentials");
        let e = DataMap::parse("table: {}\n").unwrap_err();
        assert!(e.contains("unknown key `table`"), "{e}");
    }

    #[test]
    fn files_applications_and_credentials_are_read_and_checked() {
        let m = DataMap::parse(
            "tables:\n  customers:\n    person: customer_id\n    created: Created_At\n    columns: {email: email, pw: password_hash, name: name}\nfiles:\n  - path: 'C:\\Shares\\HR\\payroll-*.xlsx'\n    categories: [name, salary]\n    people: 1250\napplications:\n  - name: shop-admin\n    principal: user.name\n    client: client_ip\n    route: url.path\n    records: customer_ids\n    routes:\n      - {route: '/admin/customers/*', table: customers}\n      - {route: '/admin/customers/*/email', table: customers, categories: [email]}\ncredentials: [pw_hash]\n",
        )
        .unwrap();
        assert_eq!(
            m.tables["public.customers"].created.as_deref(),
            Some("created_at")
        );
        assert!(m.file("c:/shares/hr/PAYROLL-2026.xlsx").is_some());
        assert!(m.file("C:\\Shares\\HR\\notes.txt").is_none());
        assert_eq!(
            m.file("C:\\Shares\\HR\\payroll-1.xlsx").unwrap().people,
            Some(1250)
        );
        let app = &m.applications[0];
        assert_eq!(app.routes[0].categories, ["email", "name", "password_hash"]);
        assert_eq!(app.routes[1].categories, ["email"]);
        assert!(m.is_credential("pw_hash") && !m.is_credential("password_hash"));
        let e = DataMap::parse("files:\n  - path: x\n").unwrap_err();
        assert!(e.starts_with("line 2") && e.contains("categories"), "{e}");
        let e = DataMap::parse(
            "tables:\n  c:\n    person: id\n    columns: {a: b}\napplications:\n  - name: x\n    principal: u\n    route: r\n    routes:\n      - {route: '/x', table: orders}\n",
        )
        .unwrap_err();
        assert!(e.contains("orders is not in `tables`"), "{e}");
    }

    #[test]
    fn globs_match_as_written_and_do_not_blow_up() {
        assert!(glob("/admin/customers/*", "/admin/customers/42/export"));
        assert!(glob("a?c", "abc") && !glob("a?c", "abbc"));
        assert!(glob("*", "") && !glob("x*", ""));
        let long = "a".repeat(5000);
        assert!(!glob(&format!("{}b", "*a".repeat(40)), &long));
    }
}

use super::*;

fn stderr(text: &str) -> Event {
    let mut ev = Event::default();
    stderr_record(text, &mut ev).unwrap();
    ev
}

fn all<'e>(ev: &'e Event, name: &str) -> Vec<&'e str> {
    ev.fields
        .iter()
        .filter(|f| ev.name(f) == name)
        .map(|f| ev.value(f))
        .collect()
}

#[test]
fn line_prefixes_of_every_common_form() {
    let ev = stderr(
        "2017-09-06 08:41:41 UTC [36]: [121-1] user=postgres,db=postgres,app=pgbench,client=172.23.0.1 LOG:  duration: 2.280 ms  statement: END;",
    );
    assert_eq!(ev.get("process_id"), Some("36"));
    assert_eq!(ev.get("session_line_num"), Some("121"));
    assert_eq!(ev.get("user_name"), Some("postgres"));
    assert_eq!(ev.get("application_name"), Some("pgbench"));
    assert_eq!(ev.get("connection_from"), Some("172.23.0.1"));
    assert_eq!(ev.get("duration_ms"), Some("2.280"));
    assert_eq!(ev.get("statement"), Some("END;"));
    let ev = stderr(
        "2020-03-11 20:40:43 CET:10.0.0.9(50412):app_user@shop:[12760]:LOG:  connection authorized: user=app_user database=shop",
    );
    assert_eq!(
        (ev.get("user_name"), ev.get("database_name")),
        (Some("app_user"), Some("shop"))
    );
    assert_eq!(ev.get("connection_from"), Some("10.0.0.9"));
    assert_eq!(ev.get("process_id"), Some("12760"));
    let ev = stderr("2025-04-12 00:14:12.837 CEST [1329108] u1@db1 ERROR:  syntax error");
    assert_eq!(ev.get("user_name"), Some("u1"));
    assert_eq!(ev.role(Role::Time), Some("2025-04-12 00:14:12.837 CEST"));
}

#[test]
fn detail_and_statement_lines_join_their_message() {
    let ev = stderr(concat!(
        "2025-08-16 13:02:58.095 CEST [885178] ERROR:  invalid input syntax for type json\n",
        "2025-08-16 13:02:58.095 CEST [885178] DETAIL:  Token \"'\" is invalid.\n",
        "2025-08-16 13:02:58.095 CEST [885178] STATEMENT:  create table x (\n",
        "\t    id smallserial primary key)"
    ));
    assert_eq!(
        ev.get("message"),
        Some("invalid input syntax for type json")
    );
    assert_eq!(ev.get("detail"), Some("Token \"'\" is invalid."));
    assert_eq!(
        ev.get("query"),
        Some("create table x (\n\t    id smallserial primary key)")
    );
    assert!(stderr_starts(
        b"2025-08-16 13:02:58.095 CEST [885178] ERROR:  x"
    ));
    assert!(!stderr_starts(
        b"2025-08-16 13:02:58.095 CEST [885178] DETAIL:  x"
    ));
    assert!(!stderr_starts(b"\tcontinued"));
}

#[test]
fn pgaudit_in_csvlog() {
    let line = r#"2024-04-08 23:10:05.412 UTC,"svc_reports","retail_prod",88123,"10.10.30.23:50877",67f5ad2b.1583b,6,"SELECT",2024-04-08 23:08:59 UTC,5/1182,0,LOG,00000,"AUDIT: SESSION,4,1,READ,SELECT,TABLE,public.customers,""COPY (SELECT customer_id, first_name FROM public.customers) TO STDOUT WITH CSV HEADER"",<none>,0",,,,,,,,,"psql","client backend",,0"#;
    let row = csv_row(line).unwrap();
    assert_eq!(row.len(), 26);
    let mut ev = Event::default();
    for (name, v) in CSV_COLUMNS.iter().zip(&row) {
        put(&mut ev, name, v);
    }
    message::parse(&row[13], &mut ev);
    assert_eq!(ev.get("class"), Some("READ"));
    assert_eq!(ev.get("object_name"), Some("public.customers"));
    assert_eq!(
        ev.get("statement"),
        Some(
            "COPY (SELECT customer_id, first_name FROM public.customers) TO STDOUT WITH CSV HEADER"
        )
    );
    assert_eq!(ev.get("rows"), Some("0"));
    assert_eq!(all(&ev, "user_name"), ["svc_reports"]);
}

#[test]
fn zone_abbreviations_are_offsets() {
    let utc = TimeZone::UTC;
    let cest = pg_time("2024-06-27 00:00:07.369 CEST", &utc).unwrap();
    let z = pg_time("2024-06-26 22:00:07.369 UTC", &utc).unwrap();
    assert_eq!(cest, z);
    // Zones without an abbreviation are written as offsets.
    assert_eq!(
        pg_time("2024-04-09 03:10:05.412 +04", &utc),
        pg_time("2024-04-08 23:10:05.412 UTC", &utc)
    );
    assert_eq!(
        pg_time("2024-04-08 20:10:05 -03", &utc),
        pg_time("2024-04-08 23:10:05 UTC", &utc)
    );
    assert_eq!(
        pg_time("2024-04-09 04:40:05 +0530", &utc),
        pg_time("2024-04-08 23:10:05 UTC", &utc)
    );
    // An abbreviation dwell does not know is read in --timezone's zone.
    let ny = TimeZone::get("America/New_York").unwrap();
    assert_eq!(
        pg_time("2024-01-08 12:00:00 XYZ", &ny),
        pg_time("2024-01-08 17:00:00 UTC", &utc)
    );
}

#[test]
fn variants_are_sniffed() {
    assert_eq!(
        sniff(b"2017-09-06 08:40:10 UTC [20]: [1-1] user=,db=,app=,client= LOG:  x\n"),
        Some("stderr")
    );
    assert_eq!(
        sniff(br#"{"timestamp":"2024-06-27 00:00:07.369 CEST","pid":1,"error_severity":"LOG"}"#),
        Some("jsonlog")
    );
    assert_eq!(
        sniff(b"SET x = 1;\nNOTICE:  AUDIT: SESSION,3,1,MISC,SET,,,SET x = 1,<not logged>\n"),
        Some("psql")
    );
    assert_eq!(sniff(b"2024-04-24T00:41:12.604Z sshd[1]: Accepted\n"), None);
    assert_eq!(
        sniff(b"Feb 11 13:15:39 test-pc postgres[10808]: [1-1] LOG:  x\n"),
        None
    );
}

#[test]
fn an_old_csvlog_is_refused_saying_why() {
    use crate::{FileSource, Found, Gather, Registry, Source};
    let row = "2010-01-01 00:00:00.000 UTC,\"u\",\"d\",1,\"h:1\",s,1,\"SELECT\",2010-01-01 00:00:00 UTC,1/1,0,LOG,00000,\"m\",,,,,,,,\n";
    assert_eq!(csv_row(row.trim_end()).unwrap().len(), 22);
    let mut feed = Gather::default();
    FileSource::new(
        vec![Found::memory("old.csv", row.as_bytes())],
        Registry::builtin(),
    )
    .run(&mut feed);
    let why = feed.failures[0].1.to_string();
    assert!(
        why.starts_with("looks like postgresql, but its csvlog rows have 22 columns"),
        "{why}"
    );
}

#[test]
fn csvlog_rows_with_line_breaks_from_the_first_row_on() {
    use crate::{Decoder, FileSource, Found, Gather, Registry, Source};
    let rows = concat!(
        "2024-04-08 23:10:05.412 UTC,\"svc\",\"db\",1,\"10.0.0.1:5\",s,1,\"SELECT\",2024-04-08 23:08:59 UTC,5/1,0,ERROR,42601,\"syntax error\",,,,,,\"SELECT\n  1\n  FROM\",,,\"psql\",\"client backend\",,0\n",
        "2024-04-08 23:10:06.000 UTC,\"svc\",\"db\",1,\"10.0.0.1:5\",s,2,\"SELECT\",2024-04-08 23:08:59 UTC,5/1,0,LOG,00000,\"statement: SELECT 2\",,,,,,,,,\"psql\",\"client backend\",,0\n"
    );
    let mut feed = Gather::default();
    FileSource::new(
        vec![Found::memory("pg.csv", rows.as_bytes())],
        Registry::builtin(),
    )
    .run(&mut feed);
    assert!(feed.failures.is_empty(), "{:?}", feed.failures);
    assert_eq!(feed.batches[0].format.variant(), "csvlog");
    let mut decoder = Decoder::default();
    let mut got = Vec::new();
    for b in &feed.batches {
        decoder.decode(
            b,
            &mut |ev| got.push((ev.line, ev.get("query").map(str::to_string))),
            &mut |p| panic!("{p:?}"),
        );
    }
    assert_eq!(
        got,
        [(1, Some("SELECT\n  1\n  FROM".to_string())), (4, None)]
    );
}

#[test]
fn remote_host_is_the_client_without_its_port_for_ipv4_and_ipv6() {
    for (from, host) in [
        ("10.10.30.23:50877", "10.10.30.23"),
        ("2001:db8::5:50877", "2001:db8::5"),
        ("[local]", "[local]"),
    ] {
        let line = format!(
            "2024-04-08 23:10:05.412 UTC,\"u\",\"d\",88123,\"{from}\",67f5ad2b.1583b,6,\"SELECT\",2024-04-08 23:08:59 UTC,5/1182,0,LOG,00000,\"hello\",,,,,,,,,\"psql\",\"client backend\",,0"
        );
        let pg = Postgres {
            variant: "csvlog",
            tz: TimeZone::UTC,
        };
        let ev = crate::formats::decoded(&pg, &line).unwrap();
        assert_eq!(ev.get("connection_from"), Some(from));
        assert_eq!(ev.get("remote_host"), Some(host), "{from}");
    }
}

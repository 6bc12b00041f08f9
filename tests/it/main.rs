#[test]
fn workspace_builds() {}

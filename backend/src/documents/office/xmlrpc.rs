//! The two XML-RPC messages Lectern exchanges with unoserver, written and read as text: a
//! general XML-RPC library would be larger than everything it is used for here.

use std::path::Path;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `convert(inpath, indata=nil, outpath, convert_to=nil, filtername=nil, filter_options=[],
/// update_index=false)`: LibreOffice reads `input` and writes `output` (its extension picks
/// the export filter). Not updating indexes saves a layout pass per document.
pub fn convert_call(input: &Path, output: &Path) -> String {
    let s = |p: &Path| {
        format!(
            "<param><value><string>{}</string></value></param>",
            escape(&p.to_string_lossy())
        )
    };
    let nil = "<param><value><nil/></value></param>";
    format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>convert</methodName><params>\
         {}{nil}{}{nil}{nil}<param><value><array><data></data></array></value></param>\
         <param><value><boolean>0</boolean></value></param></params></methodCall>",
        s(input),
        s(output)
    )
}

/// Ok for a successful HTTP 200 response; the fault's text (or what went wrong) otherwise.
pub fn parse_response(raw: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(raw);
    let status = text.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        let line = text.lines().next().unwrap_or("no response");
        return Err(format!("converter answered {line:?}"));
    }
    let Some(fault) = text.find("<fault>") else {
        return Ok(());
    };
    let fault = &text[fault..];
    let message = fault
        .find("faultString")
        .and_then(|i| {
            let rest = &fault[i..];
            let start = rest.find("<string>")? + "<string>".len();
            let end = rest[start..].find("</string>")? + start;
            Some(rest[start..end].to_string())
        })
        .unwrap_or_else(|| "the converter reported a fault".into());
    Err(message
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_call_and_reads_answers() {
        let call = convert_call(Path::new("/d/a&b.pptx"), Path::new("/d/out.pdf"));
        assert!(call.contains("<string>/d/a&amp;b.pptx</string>"));
        assert!(call.contains("<methodName>convert</methodName>"));
        let ok = b"HTTP/1.0 200 OK\r\n\r\n<methodResponse><params><param><value><nil/></value></param></params></methodResponse>";
        assert_eq!(parse_response(ok), Ok(()));
        let fault = b"HTTP/1.0 200 OK\r\n\r\n<methodResponse><fault><value><struct>\
            <member><name>faultCode</name><value><int>1</int></value></member>\
            <member><name>faultString</name><value><string>&lt;class 'RuntimeError'&gt;:Could not load document</string></value></member>\
            </struct></value></fault></methodResponse>";
        assert_eq!(
            parse_response(fault),
            Err("<class 'RuntimeError'>:Could not load document".into())
        );
        assert!(parse_response(b"HTTP/1.0 500 Oops\r\n\r\n").is_err());
    }
}

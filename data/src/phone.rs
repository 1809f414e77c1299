//! Phone numbers as keys: digits only, and one form for a Brazilian mobile number.
//!
//! Brazil added a ninth digit to mobile numbers (55 + area code + 9 + eight digits), but
//! WhatsApp accounts made before it often still carry the eight-digit form, and Meta's
//! `wa_id` may come in either. Both forms are one customer: they share one key, the
//! nine-digit form, while the contact keeps the form Meta last sent for sends.

/// The digits of `phone` (`+55 (11) 98765-4321` -> `5511987654321`).
pub fn digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// The key form of `phone`: its digits, with the ninth digit of a Brazilian mobile number
/// put in when missing.
pub fn canonical(phone: &str) -> String {
    let digits = digits(phone);
    // 55, a two-digit area code (11-99), then eight digits: a mobile begins with 6-9.
    let eight_digit_mobile = digits.len() == 12
        && digits.starts_with("55")
        && digits.as_bytes()[2] != b'0'
        && matches!(digits.as_bytes()[4], b'6'..=b'9');
    if eight_digit_mobile {
        format!("{}9{}", &digits[..4], &digits[4..])
    } else {
        digits
    }
}

/// Both forms of a Brazilian mobile number (with and without the ninth digit), else the
/// number alone: what a search by number should find.
pub fn forms(phone: &str) -> Vec<String> {
    let key = canonical(phone);
    let bytes = key.as_bytes();
    let mut forms = vec![key.clone()];
    if bytes.len() == 13 && key.starts_with("55") && bytes[4] == b'9' {
        let short = format!("{}{}", &key[..4], &key[5..]);
        if canonical(&short) == key {
            forms.push(short);
        }
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brazilian_mobiles_with_and_without_the_ninth_digit_share_one_key() {
        let cases = [
            ("5511987654321", "5511987654321"),
            ("551187654321", "5511987654321"),
            ("+55 (11) 98765-4321", "5511987654321"),
            ("+55 11 8765-4321", "5511987654321"),
            // A landline (begins with 2-5) has eight digits and stays as it is.
            ("551133334444", "551133334444"),
            // Not Brazil: only the digits.
            ("+1 (555) 010-9999", "15550109999"),
            ("14155552671", "14155552671"),
            ("", ""),
        ];
        for (input, key) in cases {
            assert_eq!(canonical(input), key, "{input}");
        }
        assert_eq!(forms("551187654321"), ["5511987654321", "551187654321"]);
        assert_eq!(forms("551133334444"), ["551133334444"]);
        assert_eq!(forms("14155552671"), ["14155552671"]);
    }
}

//! Room configuration and its `muc#roomconfig` data form (XEP-0045 §10.2).

use std::collections::BTreeSet;

use minidom::Element;
use serde::{Deserialize, Serialize};

use super::types::{Role, NS_DATA, NS_ROOMCONFIG};
use crate::xmpp::xml::{attr, element};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoomConfig {
    pub name: String,
    pub description: String,
    pub persistent: bool,
    pub public: bool,
    pub moderated: bool,
    pub members_only: bool,
    pub password: Option<String>,
    /// 0 means no limit.
    pub max_users: usize,
    /// Real JIDs visible to everyone (non-anonymous) instead of moderators only.
    pub whois_anyone: bool,
    pub change_subject: bool,
    pub allow_pm: bool,
    /// Roles whose presence is broadcast. Leaving out visitors lets a lecture hall fill
    /// without every join reaching every attendee.
    pub presence_broadcast: BTreeSet<Role>,
    /// Messages a joiner gets as history.
    pub history_length: usize,
}

impl Default for RoomConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            description: String::new(),
            persistent: false,
            public: true,
            moderated: false,
            members_only: false,
            password: None,
            max_users: 0,
            whois_anyone: false,
            change_subject: true,
            allow_pm: true,
            presence_broadcast: [Role::Visitor, Role::Participant, Role::Moderator].into(),
            history_length: 20,
        }
    }
}

fn field(var: &str, kind: &str, label: &str, values: &[String]) -> Element {
    let mut f = element(
        "field",
        NS_DATA,
        &[("var", var), ("type", kind), ("label", label)],
    );
    for v in values {
        let mut value = Element::bare("value", NS_DATA);
        value.append_text(v.clone());
        f.append_child(value);
    }
    f
}

fn flag(b: bool) -> Vec<String> {
    vec![if b { "1" } else { "0" }.to_string()]
}

fn option(label: &str, value: &str) -> Element {
    let mut v = Element::bare("value", NS_DATA);
    v.append_text(value.to_string());
    let mut o = element("option", NS_DATA, &[("label", label)]);
    o.append_child(v);
    o
}

impl RoomConfig {
    /// The configuration form an owner gets.
    pub fn form(&self) -> Element {
        let mut x = element("x", NS_DATA, &[("type", "form")]);
        let mut title = Element::bare("title", NS_DATA);
        title.append_text("Room configuration".to_string());
        x.append_child(title);
        x.append_child(field(
            "FORM_TYPE",
            "hidden",
            "",
            &[NS_ROOMCONFIG.to_string()],
        ));
        let text = |v: &str| vec![v.to_string()];
        let rows: Vec<Element> = vec![
            field(
                "muc#roomconfig_roomname",
                "text-single",
                "Name",
                &text(&self.name),
            ),
            field(
                "muc#roomconfig_roomdesc",
                "text-single",
                "Description",
                &text(&self.description),
            ),
            field(
                "muc#roomconfig_persistentroom",
                "boolean",
                "Persistent",
                &flag(self.persistent),
            ),
            field(
                "muc#roomconfig_publicroom",
                "boolean",
                "Listed publicly",
                &flag(self.public),
            ),
            field(
                "muc#roomconfig_moderatedroom",
                "boolean",
                "Moderated",
                &flag(self.moderated),
            ),
            field(
                "muc#roomconfig_membersonly",
                "boolean",
                "Members only",
                &flag(self.members_only),
            ),
            field(
                "muc#roomconfig_passwordprotectedroom",
                "boolean",
                "Password protected",
                &flag(self.password.is_some()),
            ),
            field(
                "muc#roomconfig_roomsecret",
                "text-private",
                "Password",
                &text(self.password.as_deref().unwrap_or("")),
            ),
            field(
                "muc#roomconfig_maxusers",
                "text-single",
                "Maximum occupants (0: no limit)",
                &text(&self.max_users.to_string()),
            ),
            field(
                "muc#roomconfig_changesubject",
                "boolean",
                "Occupants may change the subject",
                &flag(self.change_subject),
            ),
            field(
                "muc#roomconfig_allowpm",
                "list-single",
                "Private messages",
                &text(if self.allow_pm { "anyone" } else { "none" }),
            ),
            field(
                "muc#roomconfig_historylength",
                "text-single",
                "Messages of history for joiners",
                &text(&self.history_length.to_string()),
            ),
        ];
        for r in rows {
            x.append_child(r);
        }
        let mut whois = field(
            "muc#roomconfig_whois",
            "list-single",
            "Who may see real JIDs",
            &text(if self.whois_anyone {
                "anyone"
            } else {
                "moderators"
            }),
        );
        whois.append_child(option("Moderators", "moderators"));
        whois.append_child(option("Anyone", "anyone"));
        x.append_child(whois);
        let roles: Vec<String> = self
            .presence_broadcast
            .iter()
            .map(|r| r.as_str().to_string())
            .collect();
        let mut broadcast = field(
            "muc#roomconfig_presencebroadcast",
            "list-multi",
            "Roles whose presence is broadcast",
            &roles,
        );
        for r in ["moderator", "participant", "visitor"] {
            broadcast.append_child(option(r, r));
        }
        x.append_child(broadcast);
        x
    }

    /// Applies a submitted form; fields left out keep their values.
    pub fn apply(&mut self, x: &Element) -> Result<(), String> {
        let mut password_on = self.password.is_some();
        let mut secret = self.password.clone().unwrap_or_default();
        for f in x.children().filter(|c| c.is("field", NS_DATA)) {
            let values: Vec<String> = f
                .children()
                .filter(|c| c.is("value", NS_DATA))
                .map(|v| v.text())
                .collect();
            let one = values.first().cloned().unwrap_or_default();
            let boolean = || matches!(one.as_str(), "1" | "true");
            let number = || {
                one.trim()
                    .parse::<usize>()
                    .map_err(|_| format!("{} must be a number", attr(f, "var").unwrap_or("")))
            };
            match attr(f, "var").unwrap_or("") {
                "muc#roomconfig_roomname" => self.name = one,
                "muc#roomconfig_roomdesc" => self.description = one,
                "muc#roomconfig_persistentroom" => self.persistent = boolean(),
                "muc#roomconfig_publicroom" => self.public = boolean(),
                "muc#roomconfig_moderatedroom" => self.moderated = boolean(),
                "muc#roomconfig_membersonly" => self.members_only = boolean(),
                "muc#roomconfig_passwordprotectedroom" => password_on = boolean(),
                "muc#roomconfig_roomsecret" => secret = one,
                "muc#roomconfig_maxusers" => {
                    self.max_users = if one.is_empty() { 0 } else { number()? }
                }
                "muc#roomconfig_whois" => self.whois_anyone = one == "anyone",
                "muc#roomconfig_changesubject" => self.change_subject = boolean(),
                "muc#roomconfig_allowpm" => {
                    self.allow_pm = !matches!(one.as_str(), "none" | "0" | "false")
                }
                "muc#roomconfig_historylength" => self.history_length = number()?,
                "muc#roomconfig_presencebroadcast" => {
                    self.presence_broadcast = values.iter().filter_map(|v| Role::parse(v)).collect()
                }
                _ => {}
            }
        }
        // Some clients send only the secret: a secret means protection.
        self.password = (password_on || !secret.is_empty())
            .then_some(secret)
            .filter(|s| !s.is_empty());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_round_trips_through_apply() {
        let mut c = RoomConfig {
            name: "Physics 101".into(),
            persistent: true,
            members_only: true,
            password: Some("pw".into()),
            max_users: 300,
            whois_anyone: true,
            presence_broadcast: [Role::Moderator].into(),
            ..Default::default()
        };
        let mut form = c.form();
        form.set_attr(
            rxml::Namespace::NONE,
            rxml::NcName::try_from("type").unwrap(),
            "submit",
        );
        let mut back = RoomConfig::default();
        back.apply(&form).unwrap();
        assert_eq!(back, c);
        c.apply(&"<x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_maxusers'><value>x</value></field></x>".parse().unwrap()).unwrap_err();
    }
}

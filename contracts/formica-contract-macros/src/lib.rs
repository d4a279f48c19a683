//! The macros of the Formica contract SDK (`formica-contract` re-exports them; use them from there).
//!
//! - `#[entry]` / `#[init]` on a function export it as an entry point (the constructor for
//!   `init`): the input decodes as the tuple of its arguments, and its result is returned encoded
//!   (or, for `Err`, reverts the call with the error's `Display` text).
//! - `#[derive(Codec)]` for structs and enums, `#[derive(Event)]` for structs (fields marked
//!   `#[topic]` become topics), `#[derive(ContractError)]` for enums (`Display` is the variant's
//!   name, which is what a failed call's receipt shows).

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields, FnArg, ItemFn, Pat, parse_macro_input};

/// Exports the function as an entry point of the contract.
#[proc_macro_attribute]
pub fn entry(attribute: TokenStream, item: TokenStream) -> TokenStream {
    export(attribute, item, None)
}

/// Exports the function as the constructor, run once at deployment.
#[proc_macro_attribute]
pub fn init(attribute: TokenStream, item: TokenStream) -> TokenStream {
    export(attribute, item, Some("init"))
}

fn export(attribute: TokenStream, item: TokenStream, name: Option<&str>) -> TokenStream {
    if !attribute.is_empty() {
        return syn::Error::new(proc_macro2::Span::call_site(), "entry points take no arguments")
            .to_compile_error()
            .into();
    }
    let function = parse_macro_input!(item as ItemFn);
    let ident = &function.sig.ident;
    let export_name = name.map(str::to_string).unwrap_or_else(|| ident.to_string());
    let mut names = Vec::new();
    let mut types = Vec::new();
    for (index, argument) in function.sig.inputs.iter().enumerate() {
        match argument {
            FnArg::Typed(typed) => {
                let name = match &*typed.pat {
                    Pat::Ident(ident) => ident.ident.clone(),
                    _ => format_ident!("argument_{index}"),
                };
                names.push(name);
                types.push((*typed.ty).clone());
            }
            FnArg::Receiver(receiver) => {
                return syn::Error::new_spanned(receiver, "an entry point is a free function")
                    .to_compile_error()
                    .into();
            }
        }
    }
    let wrapper = format_ident!("__formica_entry_{}", ident);
    let expanded = quote! {
        #function

        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        #[unsafe(export_name = #export_name)]
        pub extern "C" fn #wrapper() {
            let input = ::formica_contract::env::input();
            let (#(#names,)*): (#(#types,)*) = ::formica_contract::__private::arguments(&input);
            ::formica_contract::__private::Finish::finish(#ident(#(#names),*));
        }
    };
    expanded.into()
}

/// Implements `formica_contract::Codec`.
#[proc_macro_derive(Codec)]
pub fn derive_codec(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let (encode, decode) = match &input.data {
        Data::Struct(data) => {
            let (pattern, encode, decode) = fields(&data.fields, quote!(Self));
            (quote! { let #pattern = self; #encode }, decode)
        }
        Data::Enum(data) => {
            if data.variants.len() > 256 {
                return syn::Error::new_spanned(name, "at most 256 variants").to_compile_error().into();
            }
            let mut encodes = Vec::new();
            let mut decodes = Vec::new();
            for (index, variant) in data.variants.iter().enumerate() {
                let tag = index as u8;
                let variant_name = &variant.ident;
                let (pattern, encode, decode) = fields(&variant.fields, quote!(Self::#variant_name));
                encodes.push(quote! { #pattern => { out.push(#tag); #encode } });
                decodes.push(quote! { #tag => { #decode } });
            }
            (
                quote! { match self { #(#encodes)* } },
                quote! {
                    match ::formica_contract::codec::take(input, 1)?[0] {
                        #(#decodes)*
                        _ => Err(::formica_contract::DecodeError::Invalid),
                    }
                },
            )
        }
        Data::Union(_) => return syn::Error::new_spanned(name, "unions have no encoding").to_compile_error().into(),
    };
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics ::formica_contract::Codec for #name #type_generics #where_clause {
            #[allow(unused_variables)]
            fn encode_to(&self, out: &mut ::formica_contract::__private::Vec<u8>) { #encode }
            #[allow(unused_variables)]
            fn decode_from(input: &mut &[u8]) -> Result<Self, ::formica_contract::DecodeError> { #decode }
        }
    }
    .into()
}

/// For a struct or variant: the pattern binding its fields (by reference), the code encoding them,
/// and the expression decoding them.
fn fields(fields: &Fields, path: Tokens) -> (Tokens, Tokens, Tokens) {
    match fields {
        Fields::Named(named) => {
            let names: Vec<_> = named.named.iter().map(|field| field.ident.clone().expect("named")).collect();
            (
                quote! { #path { #(#names),* } },
                quote! { #(::formica_contract::Codec::encode_to(#names, out);)* },
                quote! { Ok(#path { #(#names: ::formica_contract::Codec::decode_from(input)?),* }) },
            )
        }
        Fields::Unnamed(unnamed) => {
            let names: Vec<_> = (0..unnamed.unnamed.len()).map(|index| format_ident!("field_{index}")).collect();
            let decodes = names.iter().map(|_| quote! { ::formica_contract::Codec::decode_from(input)? });
            (
                quote! { #path(#(#names),*) },
                quote! { #(::formica_contract::Codec::encode_to(#names, out);)* },
                quote! { Ok(#path(#(#decodes),*)) },
            )
        }
        Fields::Unit => (quote! { #path }, quote! {}, quote! { Ok(#path) }),
    }
}

/// Implements `formica_contract::Event` for a struct that also derives `Codec`.
#[proc_macro_derive(Event, attributes(topic))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let name_text = name.to_string();
    if name_text.len() > 32 {
        return syn::Error::new_spanned(name, "an event name is at most 32 bytes").to_compile_error().into();
    }
    let Data::Struct(data) = &input.data else {
        return syn::Error::new_spanned(name, "an event is a struct").to_compile_error().into();
    };
    let topics: Vec<_> = data
        .fields
        .iter()
        .filter(|field| field.attrs.iter().any(|attribute| attribute.path().is_ident("topic")))
        .filter_map(|field| field.ident.clone())
        .collect();
    if topics.len() > 3 {
        return syn::Error::new_spanned(name, "at most 3 topic fields (the name is the fourth topic)")
            .to_compile_error()
            .into();
    }
    quote! {
        impl ::formica_contract::Event for #name {
            const NAME_TOPIC: [u8; 32] = ::formica_contract::name_topic(#name_text);
            fn topics(&self) -> ::formica_contract::__private::Vec<[u8; 32]> {
                let mut topics = ::formica_contract::__private::Vec::new();
                topics.push(Self::NAME_TOPIC);
                #(topics.push(::formica_contract::Topic::topic(&self.#topics));)*
                topics
            }
        }
    }
    .into()
}

/// Implements `Display` for an enum of errors: each variant shows as its name.
#[proc_macro_derive(ContractError)]
pub fn derive_contract_error(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let Data::Enum(data) = &input.data else {
        return syn::Error::new_spanned(name, "a contract error is an enum").to_compile_error().into();
    };
    let arms = data.variants.iter().map(|variant| {
        let variant_name = &variant.ident;
        let text = variant_name.to_string();
        let pattern = match &variant.fields {
            Fields::Named(_) => quote! { Self::#variant_name { .. } },
            Fields::Unnamed(_) => quote! { Self::#variant_name(..) },
            Fields::Unit => quote! { Self::#variant_name },
        };
        quote! { #pattern => f.write_str(#text), }
    });
    quote! {
        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self { #(#arms)* }
            }
        }
    }
    .into()
}
